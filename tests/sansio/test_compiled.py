"""The compiled structuring path agrees with the detailed cattrs converter.

The compiled functions are the fast path of every reply; the detailed converter is the
reference. On any JSON a reply could carry, valid or mutated, the compiled function
either fails (and the detailed converter decides) or returns exactly what the detailed
converter returns, field types included.
"""

from __future__ import annotations

from typing import Any

import attrs
import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from stytch_scim_async._sansio import convert
from stytch_scim_async._sansio.compiled import compile_structure
from stytch_scim_async._sansio.endpoints import ENDPOINTS

from ..support import replies

RESPONSES = sorted(
    {endpoint.response for endpoint in ENDPOINTS.values()}, key=lambda cls: cls.__name__
)
DETAILED = convert.make_converter()


def _outcome(structure: Any, data: Any, cls: type[Any]) -> tuple[str, Any]:
    try:
        return "ok", structure(data, cls)
    except Exception as exc:
        return "error", type(exc)


def _field_types(value: Any) -> Any:
    """Every field's value and exact type, recursively: `1 == True`, `1.0 == 1`."""
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return (type(value), tuple(_field_types(getattr(value, f.name)) for f in fields))
    if isinstance(value, tuple):
        return tuple(_field_types(item) for item in value)
    return (type(value), value)


@pytest.mark.parametrize("cls", RESPONSES, ids=lambda cls: cls.__name__)
def test_every_response_type_has_a_compiled_function(cls: type[Any]) -> None:
    # Falling back to cattrs for a whole type would still be correct, and silently slow.
    assert compile_structure(cls) is not None


@pytest.mark.parametrize("cls", RESPONSES, ids=lambda cls: cls.__name__)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_compiled_path_agrees_with_the_detailed_converter(
    cls: type[Any], data: st.DataObject
) -> None:
    good = data.draw(replies.valid(cls))
    compiled = compile_structure(cls)
    assert compiled is not None
    expected = _outcome(DETAILED.structure, good, cls)
    assert expected[0] == "ok", "the strategy drew data the detailed converter refuses"
    got = _outcome(compiled, good, cls)
    assert got[0] == "ok", "well-formed data must take the fast path"
    assert _field_types(got[1]) == _field_types(expected[1])

    bad = data.draw(replies.mutated(good))
    expected = _outcome(DETAILED.structure, bad, cls)
    got = _outcome(compiled, bad, cls)
    if got[0] == "ok":
        assert expected[0] == "ok", f"the fast path accepted what cattrs refuses: {bad!r}"
        assert _field_types(got[1]) == _field_types(expected[1])
    through = _outcome(convert.structure, bad, cls)
    assert through[0] == expected[0]
    if through[0] == "ok":
        assert _field_types(through[1]) == _field_types(expected[1])


@pytest.mark.parametrize(
    ("value", "field"),
    [(5, "display_name"), (None, "status"), (True, "base_url"), ("x", "status_code")],
)
def test_a_wrong_type_is_refused_by_the_fast_path_and_named_by_the_detailed_one(
    value: Any, field: str
) -> None:
    from stytch_scim_async.models import GetConnectionResponse

    connection = {
        "organization_id": "o",
        "connection_id": "c",
        "status": "active",
        "display_name": "d",
        "identity_provider": "okta",
        "base_url": "https://x",
    }
    data: dict[str, Any] = {"request_id": "r", "status_code": 200, "connection": connection}
    if field == "status_code":
        data[field] = value
    else:
        connection[field] = value
    compiled = compile_structure(GetConnectionResponse)
    assert compiled is not None
    with pytest.raises(Exception):  # noqa: B017, PT011 - any failure sends it to cattrs
        compiled(data, GetConnectionResponse)
    with pytest.raises(Exception) as info:  # noqa: PT011
        convert.structure(data, GetConnectionResponse)
    assert field in convert.describe_error(info.value)


def test_a_class_with_a_validator_is_left_to_cattrs() -> None:
    @attrs.frozen
    class Checked:
        name: str = attrs.field(validator=attrs.validators.min_len(1))

    assert compile_structure(Checked) is None
    with pytest.raises(Exception):  # noqa: B017, PT011 - the validator ran: cattrs built it
        convert.structure({"name": ""}, Checked)
    assert convert.structure({"name": "x"}, Checked) == Checked("x")
