"""Argument checks that run before any I/O, each naming the argument it rejects."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..errors import InvalidRequestError

__all__ = [
    "PLAIN_ID",
    "check_id",
    "check_identity_provider",
    "check_limit",
    "check_optional_text",
    "check_role_assignments",
    "check_secret",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Lone surrogates cannot be encoded as UTF-8, so they would fail deep inside the send.
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_ID_LENGTH = 1024


def _describe(value: Any) -> str:
    return type(value).__name__


def _check_encodable(name: str, value: str) -> None:
    if _SURROGATE.search(value):
        raise InvalidRequestError(name, "must be valid Unicode (it contains a lone surrogate)")


#: What Stytch's ids look like: such a value needs no other check, and no quoting.
PLAIN_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_ID_LENGTH}}}")


def _missing(name: str) -> InvalidRequestError:
    """A credential named "argument (or VARIABLE)" that came from neither."""
    argument, variable = name.split(" (or ", 1)
    return InvalidRequestError(name, f"is missing: pass {argument}= or set {variable.rstrip(')')}")


def check_id(name: str, value: Any) -> str:
    """An id that goes into a URL path: a non-empty string without control characters."""
    if type(value) is str and PLAIN_ID.fullmatch(value):
        return value  # the common case, in one regex match
    if value is None and "(or " in name:
        raise _missing(name)
    if not isinstance(value, str):
        raise InvalidRequestError(name, f"must be a string, got {_describe(value)}")
    if not value.strip():
        raise InvalidRequestError(name, "must not be empty")
    if _CONTROL.search(value):
        raise InvalidRequestError(name, "must not contain control characters (CR, LF, NUL…)")
    if value in (".", ".."):
        # A URL normaliser would resolve them and send the request to another endpoint.
        raise InvalidRequestError(name, "must not be '.' or '..'")
    _check_encodable(name, value)
    if len(value) > MAX_ID_LENGTH:
        raise InvalidRequestError(name, f"is longer than {MAX_ID_LENGTH} characters")
    return value


def check_secret(name: str, value: Any) -> str:
    """A credential that goes into a header; the message never repeats its value."""
    if value is None and "(or " in name:
        raise _missing(name)
    if not isinstance(value, str) or not value:
        raise InvalidRequestError(name, "must be a non-empty string")
    if _CONTROL.search(value) or not value.isascii():
        # Stytch's secrets and tokens are ASCII; anything else is a paste gone wrong.
        raise InvalidRequestError(name, "must be printable ASCII")
    return value


#: Values that passed a check, by check (a batch sends the same few names again and
#: again); each bounded: once full, other values are checked per call.
_TEXT_PASSED: set[str] = set()
_IDP_PASSED: set[str] = set()
_PASSED_MAX = 256


#: Only short values are remembered: a long one would stay in memory for good.
_REMEMBERED_LENGTH = 128


def _remember(passed: set[str], value: Any) -> None:
    if type(value) is str and len(value) <= _REMEMBERED_LENGTH and len(passed) < _PASSED_MAX:
        passed.add(value)


def check_optional_text(name: str, value: Any, *, remember: bool = False) -> str | None:
    """A free-text field (display_name, a cursor): a string, or None to leave it out.
    `remember`: a value that passes is remembered (names recur; cursors never do)."""
    if value is None:
        return None
    if remember and type(value) is str and value in _TEXT_PASSED:
        return value
    if not isinstance(value, str):
        raise InvalidRequestError(name, f"must be a string or None, got {_describe(value)}")
    _check_encodable(name, value)
    if remember:
        _remember(_TEXT_PASSED, value)
    return value


def check_identity_provider(value: Any) -> str | None:
    """Any non-empty string passes (the set of IdPs is open); the server decides."""
    if value is None:
        return None
    if type(value) is str and value in _IDP_PASSED:
        return value
    if not isinstance(value, str):
        raise InvalidRequestError(
            "identity_provider", f"must be a string or None, got {_describe(value)}"
        )
    if not value.strip() or _CONTROL.search(value):
        raise InvalidRequestError(
            "identity_provider", "must be a non-empty name without control characters"
        )
    _check_encodable("identity_provider", value)
    _remember(_IDP_PASSED, value)
    return str(value)


def check_limit(value: Any) -> int | None:
    """A page size: an int from 1 to 1000, or None for Stytch's default (100)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError("limit", f"must be an int, got {_describe(value)}")
    if not 1 <= value <= 1000:
        raise InvalidRequestError("limit", f"must be between 1 and 1000, got {value}")
    return value


def check_role_assignments(value: Any) -> list[dict[str, str]] | None:
    """Role assignments for an update: RoleAssignment items, None to leave them as they are."""
    if value is None:
        return None
    from ..models import RoleAssignment  # the models load with the first call, not the client

    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidRequestError(
            "role_assignments", f"must be a list of RoleAssignment, got {_describe(value)}"
        )
    items = []
    for index, item in enumerate(value):
        if not isinstance(item, RoleAssignment):
            raise InvalidRequestError(
                f"role_assignments[{index}]", f"must be a RoleAssignment, got {_describe(item)}"
            )
        items.append(
            {
                "group_id": check_id(f"role_assignments[{index}].group_id", item.group_id),
                "role_id": check_id(f"role_assignments[{index}].role_id", item.role_id),
            }
        )
    return items
