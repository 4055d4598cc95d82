"""Each request's URL built on the base URL parsed once names what aiohttp would
have parsed from the string (the same scheme, host, port and decoded path), and
sends the path exactly as `build_request` encoded it: yarl's parse of the string
would turn an id's `%3A` back into `:`."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given, settings
from yarl import URL

from stytch_scim_async import errors
from stytch_scim_async._sansio.endpoints import ENDPOINTS, Mode
from stytch_scim_async._sansio.validate import check_id
from stytch_scim_async._sansio.wire import build_request, check_base_url
from stytch_scim_async._transports.aiohttp import Origin

BASES = [
    "http://127.0.0.1:8080",
    "https://test.stytch.com",
    "https://api.example.com/stytch",
    "https://api.example.com/stytch/",
    "http://[::1]:9000/a%20b",
]


def _valid_id(value: str) -> bool:
    try:
        check_id("organization_id", value)
    except errors.InvalidRequestError:
        return False
    return True


IDS = st.text(min_size=1, max_size=20).filter(_valid_id)


@settings(max_examples=400, deadline=None)
@given(
    base=st.sampled_from(BASES),
    endpoint=st.sampled_from(sorted(ENDPOINTS)),
    organization_id=IDS,
    connection_id=IDS,
    cursor=st.none() | st.text(max_size=10),
)
def test_a_url_built_on_the_parsed_base_is_the_one_aiohttp_parses(
    base: str, endpoint: str, organization_id: str, connection_id: str, cursor: str | None
) -> None:
    params: dict[str, str | None] = {
        "organization_id": organization_id,
        "connection_id": connection_id,
    }
    if endpoint == "get_groups":
        params["cursor"] = cursor
    base_url = check_base_url(base)
    request = build_request(ENDPOINTS[endpoint], Mode.PROJECT, base_url, params, {})
    built = Origin(base_url).url(request.url)
    if isinstance(built, str):  # a query string: handed over as it is, for aiohttp to parse
        assert built == request.url and "?" in built
        return
    parsed = URL(request.url)
    assert (built.scheme, built.host, built.port, built.path) == (
        parsed.scheme,
        parsed.host,
        parsed.port,
        parsed.path,
    )
    assert str(built) == request.url  # byte for byte what build_request made


def test_a_url_on_another_base_is_left_as_the_string_it_is() -> None:
    origin = Origin("https://test.stytch.com")
    assert origin.url("https://other.example.com/v1/x") == "https://other.example.com/v1/x"
    assert isinstance(origin.url("https://test.stytch.com/v1/b2b/scim/o/connection"), URL)


def test_a_url_asked_for_again_is_kept_up_to_a_bound() -> None:
    origin = Origin("https://test.stytch.com")
    first = origin.url("https://test.stytch.com/v1/b2b/scim/o/connection")
    assert origin.url("https://test.stytch.com/v1/b2b/scim/o/connection") is first
    for i in range(Origin.KEPT + 10):
        origin.url(f"https://test.stytch.com/v1/b2b/scim/o-{i}/connection")
    late = "https://test.stytch.com/v1/b2b/scim/late/connection"
    assert origin.url(late) == URL(late)  # built each time once full
    assert len(origin._kept) == Origin.KEPT and late not in origin._kept
