"""The library's cattrs converters (never cattrs' global one), built at first use.

Strict about types (a number where Stytch sends a string is a decode error, not a
silent `str(5)`), forgiving about extra keys (Stytch adds fields over time), and
turning RFC 3339 timestamps into timezone-aware datetimes.

A reply is structured by its response type's compiled function (`compiled`: inline
type checks, the same rules), fetched once per type; a type it cannot fill takes the
fast converter's generated function instead (cattrs without detailed validation).
Only when that raises is the same data structured again by the detailed converter,
whose error names every field that did not fit (`describe_error`). cattrs is not
imported, nor a converter built, until a reply needs one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "describe_error",
    "fast_hook",
    "make_converter",
    "structure",
]

T = TypeVar("T")


def _strict(kind: type[Any]) -> Any:
    def hook(value: Any, _: type[Any]) -> Any:
        # bool is an int subclass; Stytch never sends a bool where it means a number.
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return hook


def _tuple_from_list(conv: cattrs.Converter) -> Callable[[Any, type[Any]], tuple[Any, ...]]:
    items: dict[Any, Callable[[Any, Any], Any]] = {}  # the item type's hook, found once

    def structure_tuple(value: Any, type_: type[Any]) -> tuple[Any, ...]:
        if value is None:  # a missing or null list means empty
            return ()
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        (item_type, _) = type_.__args__
        hook = items.get(item_type)
        if hook is None:
            hook = items[item_type] = conv.get_structure_hook(item_type)
        return tuple([hook(item, item_type) for item in value])

    return structure_tuple


def make_converter(*, detailed: bool = True) -> cattrs.Converter:
    """Build a converter; a factory so tests can build a fresh one. `detailed=False`
    is the fast one: the same hooks, errors without the path to the field."""
    import cattrs

    from .compiled import parse_datetime, parse_optional_datetime

    conv = cattrs.Converter(forbid_extra_keys=False, detailed_validation=detailed)
    for kind in (str, int, bool, float):
        conv.register_structure_hook(kind, _strict(kind))
    conv.register_structure_hook(datetime, parse_datetime)
    conv.register_structure_hook(datetime | None, parse_optional_datetime)
    conv.register_structure_hook_func(
        lambda t: (
            getattr(t, "__origin__", None) is tuple
            and len(getattr(t, "__args__", ())) == 2
            and t.__args__[1] is Ellipsis
        ),
        _tuple_from_list(conv),
    )
    return conv


class _Converters:
    """The detailed converter and the fast one's hook per response type, built lazily."""

    __slots__ = ("_detailed", "_fast", "hooks")

    def __init__(self) -> None:
        self._detailed: cattrs.Converter | None = None
        self._fast: cattrs.Converter | None = None
        self.hooks: dict[type[Any], Callable[[Any, Any], Any]] = {}

    @property
    def detailed(self) -> cattrs.Converter:
        if self._detailed is None:
            self._detailed = make_converter()
        return self._detailed

    def hook(self, cls: type[Any]) -> Callable[[Any, Any], Any]:
        from .compiled import compile_structure  # at the first reply, not at import

        hook = compile_structure(cls)
        if hook is None:  # a shape the compiled path does not fill
            if self._fast is None:
                self._fast = make_converter(detailed=False)
            hook = self._fast.get_structure_hook(cls)
        self.hooks[cls] = hook
        return hook


_CONVERTERS = _Converters()


def fast_hook(cls: type[T]) -> Callable[[Any, type[T]], T]:
    """`cls`'s fast structuring function: it raises on anything that does not fit,
    without naming it (`structure` then asks the detailed converter)."""
    return _CONVERTERS.hooks.get(cls) or _CONVERTERS.hook(cls)


def structure(data: Any, cls: type[T]) -> T:
    """Structure `data` into `cls`: the fast path, or, when it fails, the detailed
    converter's error (it structures the same data again, so it raises the same
    failure with every field named)."""
    hook = _CONVERTERS.hooks.get(cls) or _CONVERTERS.hook(cls)
    try:
        result: T = hook(data, cls)
    except Exception:
        return _CONVERTERS.detailed.structure(data, cls)
    return result


def describe_error(exc: BaseException) -> str:
    """A one-line account of what did not fit, e.g. `required field missing @ $.connection`."""
    import cattrs

    if isinstance(exc, cattrs.ClassValidationError | cattrs.IterableValidationError):
        messages = cattrs.transform_error(exc)
        return "; ".join(messages[:3]) + ("; …" if len(messages) > 3 else "")
    return f"{type(exc).__name__}: {exc}"
