"""One structuring function per response type, compiled from its attrs fields.

cattrs' generated code calls a hook per field, and a frozen attrs ``__init__`` sets
each field through ``object.__setattr__``: for a page of 100 groups that is some 900
calls. The shapes Stytch sends are few (strings, numbers, booleans, timestamps, nested
records, lists of them), so for those a function per class checks each value's type
inline and fills the slots directly, with the same rules as the converters in
`convert` (strict types, extra keys ignored, a null or missing list is empty).

This path only ever says "well formed": any value that does not fit raises, and
`convert.structure` then asks the detailed cattrs converter, which either accepts the
data after all or names every field that did not fit. A class it does not know how
to fill (validators, converters, ``__attrs_post_init__``, a type outside that list)
is left to cattrs.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs

__all__ = ["compile_structure", "parse_datetime", "parse_optional_datetime"]

_PRIMITIVES = (str, int, bool, float)
_MISSING = object()


def parse_datetime(value: Any, _: type[Any]) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an RFC 3339 timestamp, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_optional_datetime(value: Any, _: type[Any]) -> datetime | None:
    # Stytch sends null, omits the key, or (on some endpoints) "" for "no expiry".
    if value is None or value == "":
        return None
    return parse_datetime(value, datetime)


class _Unsupported(Exception):
    """The class has a shape this module does not fill: cattrs does."""


class _Source:
    """The text and namespace of one generated function. Nested records, lists of
    records included, are filled inline: one frame for a whole reply."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {"_missing": _MISSING, "_new": object.__new__}
        self._filling: set[type[Any]] = set()  # a record inside itself: left to cattrs
        self._count = 0

    def name(self, value: Any, hint: str) -> str:
        """A name in the generated function's namespace bound to `value`."""
        name = f"_{hint}_{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def local(self, hint: str) -> str:
        """A fresh local variable's name."""
        self._count += 1
        return f"{hint}{self._count}"

    def record(self, cls: type[Any], data: str, indent: str) -> str:
        """Lines that fill a new `cls` from the dict in `data`; the instance's variable."""
        if not attrs.has(cls) or "__slots__" not in cls.__dict__ or cls in self._filling:
            raise _Unsupported(cls)
        if hasattr(cls, "__attrs_post_init__") or hasattr(cls, "__attrs_pre_init__"):
            raise _Unsupported(cls)
        self._filling.add(cls)
        hints = typing.get_type_hints(cls)
        add = self.lines.append
        obj, value = self.local("obj"), self.local("v")
        add(f"{indent}if type({data}) is not dict: raise TypeError")
        add(f"{indent}{obj} = _new({self.name(cls, 'cls')})")
        for field in attrs.fields(cls):
            if field.validator is not None or field.converter is not None or not field.init:
                raise _Unsupported(field.name)
            if field.alias != field.name:
                raise _Unsupported(field.name)
            key = repr(field.name)
            setter = self.name(_slot(cls, field.name), "set")
            if field.default is attrs.NOTHING:
                add(f"{indent}{value} = {data}[{key}]")
                self.check(hints[field.name], value, indent)
            else:
                if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                    if field.default.takes_self:
                        raise _Unsupported(field.name)
                    default = f"{self.name(field.default.factory, 'factory')}()"
                else:
                    default = self.name(field.default, "default")
                add(f"{indent}{value} = {data}.get({key}, _missing)")
                add(f"{indent}if {value} is _missing: {value} = {default}")
                add(f"{indent}else:")
                self.check(hints[field.name], value, indent + "    ")
            add(f"{indent}{setter}({obj}, {value})")
        self._filling.discard(cls)
        return obj

    def check(self, kind: Any, var: str, indent: str) -> None:
        """Lines that check (and, for records and timestamps, convert) `var`."""
        add = self.lines.append
        origin, args = typing.get_origin(kind), typing.get_args(kind)
        if kind in _PRIMITIVES:
            add(f"{indent}if type({var}) is not {self.name(kind, 'type')}: raise TypeError")
        elif kind is datetime:
            add(f"{indent}{var} = {self.name(parse_datetime, 'parse')}({var}, None)")
        elif origin in (types.UnionType, typing.Union) and len(args) == 2 and type(None) in args:
            (inner,) = (arg for arg in args if arg is not type(None))
            if inner is datetime:
                parse = self.name(parse_optional_datetime, "parse")
                add(f"{indent}{var} = {parse}({var}, None)")
            else:
                add(f"{indent}if {var} is not None:")
                self.check(inner, var, indent + "    ")
        elif attrs.has(kind):
            add(f"{indent}{var} = {self.record(kind, var, indent)}")
        elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            item, items = self.local("item"), self.local("items")
            add(f"{indent}if {var} is None: {var} = ()")
            add(f"{indent}elif type({var}) is not list: raise TypeError")
            add(f"{indent}else:")
            add(f"{indent}    {items} = []")
            add(f"{indent}    for {item} in {var}:")
            self.check(args[0], item, indent + "        ")
            add(f"{indent}        {items}.append({item})")
            add(f"{indent}    {var} = tuple({items})")
        else:
            raise _Unsupported(kind)


def _slot(cls: type[Any], name: str) -> Any:
    """The slot's own setter: a frozen class's ``__setattr__`` refuses every write."""
    descriptor: Any = getattr(cls, name, None)
    if type(descriptor).__name__ != "member_descriptor":
        raise _Unsupported(f"{cls.__name__}.{name} is not a slot")
    return descriptor.__set__


def _compile(cls: type[Any]) -> Callable[..., Any]:
    source = _Source()
    obj = source.record(cls, "o", "    ")
    namespace = source.namespace
    text = "\n".join(
        [f"def structure_{cls.__name__}(o, _=None):", *source.lines, f"    return {obj}"]
    )
    exec(text, namespace)  # noqa: S102 - our own text, from the fields
    function: Callable[..., Any] = namespace[f"structure_{cls.__name__}"]
    return function


def compile_structure(cls: type[Any]) -> Callable[[Any, Any], Any] | None:
    """A function ``(data, cls) -> instance`` for `cls`, or None when cattrs must do it.

    It raises (something) whenever the data does not fit; it never returns a partial
    or coerced instance."""
    try:
        return _compile(cls)
    except _Unsupported:
        return None
