"""The one configured cattrs converter (never cattrs' global one).

Strict about types (a number where Stytch sends a string is a decode error, not a
silent `str(5)`), forgiving about extra keys (Stytch adds fields over time), and
turning RFC 3339 timestamps into timezone-aware datetimes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import cattrs

__all__ = ["converter", "describe_error", "structure"]

T = TypeVar("T")


def _strict(kind: type[Any]) -> Any:
    def hook(value: Any, _: type[Any]) -> Any:
        # bool is an int subclass; Stytch never sends a bool where it means a number.
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return hook


def _parse_datetime(value: Any, _: type[Any]) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an RFC 3339 timestamp, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _parse_optional_datetime(value: Any, _: type[Any]) -> datetime | None:
    # Stytch sends null, omits the key, or (on some endpoints) "" for "no expiry".
    if value is None or value == "":
        return None
    return _parse_datetime(value, datetime)


def _tuple_from_list(conv: cattrs.Converter) -> Callable[[Any, type[Any]], tuple[Any, ...]]:
    def structure_tuple(value: Any, type_: type[Any]) -> tuple[Any, ...]:
        if value is None:  # a missing or null list means empty
            return ()
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        (item_type, _) = type_.__args__
        return tuple(conv.structure(item, item_type) for item in value)

    return structure_tuple


def make_converter() -> cattrs.Converter:
    """Build the converter; a factory so tests can build a fresh one."""
    conv = cattrs.Converter(forbid_extra_keys=False, detailed_validation=True)
    for kind in (str, int, bool, float):
        conv.register_structure_hook(kind, _strict(kind))
    conv.register_structure_hook(datetime, _parse_datetime)
    conv.register_structure_hook(datetime | None, _parse_optional_datetime)
    conv.register_structure_hook_func(
        lambda t: (
            getattr(t, "__origin__", None) is tuple
            and len(getattr(t, "__args__", ())) == 2
            and t.__args__[1] is Ellipsis
        ),
        _tuple_from_list(conv),
    )
    return conv


converter = make_converter()


def structure(data: Any, cls: type[T]) -> T:
    """Structure `data` into `cls` with the library's converter."""
    return converter.structure(data, cls)


def describe_error(exc: BaseException) -> str:
    """A one-line account of what did not fit, e.g. `required field missing @ $.connection`."""
    if isinstance(exc, cattrs.ClassValidationError | cattrs.IterableValidationError):
        messages = cattrs.transform_error(exc)
        return "; ".join(messages[:3]) + ("; …" if len(messages) > 3 else "")
    return f"{type(exc).__name__}: {exc}"
