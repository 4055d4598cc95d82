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
    """The text and namespace of one generated function."""

    def __init__(self, compiled: dict[type[Any], Callable[..., Any]]) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {"_missing": _MISSING, "_new": object.__new__}
        self._compiled = compiled

    def name(self, value: Any, hint: str) -> str:
        """A name in the generated function's namespace bound to `value`."""
        name = f"_{hint}_{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def nested(self, cls: type[Any]) -> str:
        """The name of `cls`'s own compiled function (compiled first if need be)."""
        function = self._compiled.get(cls) or _compile(cls, self._compiled)
        return self.name(function, "structure")

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
            add(f"{indent}{var} = {self.nested(kind)}({var})")
        elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            item = args[0]
            add(f"{indent}if {var} is None: {var} = ()")
            add(f"{indent}elif type({var}) is not list: raise TypeError")
            if attrs.has(item):
                add(f"{indent}else: {var} = tuple([{self.nested(item)}(i) for i in {var}])")
            elif item in _PRIMITIVES:
                kind_name = self.name(item, "type")
                add(f"{indent}else:")
                add(f"{indent}    for i in {var}:")
                add(f"{indent}        if type(i) is not {kind_name}: raise TypeError")
                add(f"{indent}    {var} = tuple({var})")
            else:
                raise _Unsupported(kind)
        else:
            raise _Unsupported(kind)


def _slot(cls: type[Any], name: str) -> Any:
    """The slot's own setter: a frozen class's ``__setattr__`` refuses every write."""
    descriptor: Any = getattr(cls, name, None)
    if type(descriptor).__name__ != "member_descriptor":
        raise _Unsupported(f"{cls.__name__}.{name} is not a slot")
    return descriptor.__set__


def _compile(cls: type[Any], compiled: dict[type[Any], Callable[..., Any]]) -> Callable[..., Any]:
    if not attrs.has(cls) or "__slots__" not in cls.__dict__:
        raise _Unsupported(cls)
    if hasattr(cls, "__attrs_post_init__") or hasattr(cls, "__attrs_pre_init__"):
        raise _Unsupported(cls)
    hints = typing.get_type_hints(cls)
    source = _Source(compiled)
    add = source.lines.append
    add(f"def structure_{cls.__name__}(o, _=None):")
    add("    if type(o) is not dict: raise TypeError")
    add(f"    obj = _new({source.name(cls, 'cls')})")
    for field in attrs.fields(cls):
        if field.validator is not None or field.converter is not None or not field.init:
            raise _Unsupported(field.name)
        if field.alias != field.name:
            raise _Unsupported(field.name)
        key = repr(field.name)
        setter = source.name(_slot(cls, field.name), "set")
        if field.default is attrs.NOTHING:
            add(f"    v = o[{key}]")
            source.check(hints[field.name], "v", "    ")
        else:
            if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                if field.default.takes_self:
                    raise _Unsupported(field.name)
                default = f"{source.name(field.default.factory, 'factory')}()"
            else:
                default = source.name(field.default, "default")
            add(f"    v = o.get({key}, _missing)")
            add(f"    if v is _missing: v = {default}")
            add("    else:")
            source.check(hints[field.name], "v", "        ")
        add(f"    {setter}(obj, v)")
    add("    return obj")
    namespace = source.namespace
    exec("\n".join(source.lines), namespace)  # noqa: S102 - our own text, from the fields
    function: Callable[..., Any] = namespace[f"structure_{cls.__name__}"]
    compiled[cls] = function
    return function


def compile_structure(cls: type[Any]) -> Callable[[Any, Any], Any] | None:
    """A function ``(data, cls) -> instance`` for `cls`, or None when cattrs must do it.

    It raises (something) whenever the data does not fit; it never returns a partial
    or coerced instance."""
    compiled: dict[type[Any], Callable[..., Any]] = {}
    try:
        return _compile(cls, compiled)
    except _Unsupported:
        return None
