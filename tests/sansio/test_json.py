"""The fast reply path (orjson and the compiled functions) against the reference path
(`json` and the converters): the same response, or the same error, for every body.

orjson reads some bodies otherwise than `json` (an integer beyond 64 bits becomes a
float) or refuses them (NaN, a byte-order mark, a lone surrogate); `parse_response`
must then give exactly what `parse_reference` gives.
"""

from __future__ import annotations

import json
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from stytch_scim_async import errors
from stytch_scim_async._sansio.endpoints import ENDPOINTS, Endpoint
from stytch_scim_async._sansio.wire import parse_reference, parse_response

from ..support import replies

ENDPOINT_LIST = sorted(ENDPOINTS.values(), key=lambda endpoint: endpoint.name)
#: Values orjson reads otherwise than json, or refuses, put anywhere in a reply.
AWKWARD = st.sampled_from(
    [2**64, -(2**63) - 1, 2**70, float("nan"), float("inf"), "\ud800", "\u2028", 10**25]
)


def _outcome(parse: Any, endpoint: Endpoint[Any], body: bytes) -> tuple[str, Any]:
    try:
        return "ok", parse(endpoint, 200, {}, body)
    except errors.ResponseDecodeError as exc:
        return "error", str(exc)


def _body(value: Any, bom: bool, ascii_only: bool) -> bytes:
    text = json.dumps(value, ensure_ascii=ascii_only)  # NaN and Infinity allowed
    return (("\ufeff" if bom else "") + text).encode("utf-8", errors="surrogatepass")


@pytest.mark.parametrize("endpoint", ENDPOINT_LIST, ids=lambda endpoint: endpoint.name)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), bom=st.booleans(), ascii_only=st.booleans())
def test_any_reply_decodes_as_the_reference_path_decodes_it(
    endpoint: Endpoint[Any], data: st.DataObject, bom: bool, ascii_only: bool
) -> None:
    value = data.draw(replies.valid(endpoint.response))
    value = data.draw(st.just(value) | replies.mutated(value, extra=AWKWARD))
    body = _body(value, bom, ascii_only)
    assert _outcome(parse_response, endpoint, body) == _outcome(parse_reference, endpoint, body)


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=60) | st.text(max_size=60).map(str.encode))
def test_any_bytes_decode_as_the_reference_path_decodes_them(body: bytes) -> None:
    for endpoint in ENDPOINT_LIST:
        assert _outcome(parse_response, endpoint, body) == _outcome(parse_reference, endpoint, body)


@pytest.mark.parametrize("status_code", [2**64, 2**70, -(2**63) - 1])
def test_an_integer_beyond_64_bits_is_read_as_json_reads_it(status_code: int) -> None:
    # orjson reads these as floats; the int field refuses a float, and the reference
    # path reads the body again.
    endpoint = ENDPOINTS["delete"]
    body = json.dumps({"request_id": "r", "status_code": status_code, "connection_id": "c"})
    response = parse_response(endpoint, 200, {}, body.encode())
    assert type(response.status_code) is int
    assert response.status_code == status_code
