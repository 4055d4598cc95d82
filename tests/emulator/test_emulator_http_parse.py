"""The emulator server's request parser and response heads, without sockets."""

from __future__ import annotations

import pytest

from stytch_scim_async.testing._http_parse import (
    MAX_BODY,
    HttpError,
    Request,
    parse_request,
    query_of,
    response_head,
)


def parsed(raw: bytes) -> tuple[Request, int]:
    result = parse_request(raw)
    assert not isinstance(result, str)
    return result


def refused(raw: bytes) -> int:
    with pytest.raises(HttpError) as info:
        parse_request(raw)
    return info.value.status


def test_a_content_length_request_and_what_follows_it() -> None:
    raw = b"POST /v1/x%2Fy?limit=5&cursor=a%3D HTTP/1.1\r\nhost: h\r\ncontent-LENGTH: 2\r\n\r\n{}"
    request, consumed = parsed(raw + b"GET /next")
    assert consumed == len(raw)
    assert (request.method, request.path, request.query_string) == (
        "POST",
        "/v1/x%2Fy",
        "limit=5&cursor=a%3D",
    )
    assert request.headers["Content-Length"] == "2" and request.headers["HOST"] == "h"
    assert (request.body, request.keep_alive, request.minor) == (b"{}", True, 1)
    assert dict(query_of(request.query_string)) == {"limit": "5", "cursor": "a="}


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"GET / HTTP/1.1\r\nHost: h",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab",
    ],
)
def test_incomplete_requests_ask_for_more(raw: bytes) -> None:
    assert parse_request(raw) == "more"


def test_expect_continue_is_reported_until_the_body_arrives() -> None:
    head = b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n"
    assert parse_request(head) == "continue"
    assert parsed(head + b"{}")[0].body == b"{}"


def test_chunked_bodies_with_extensions_and_trailers() -> None:
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
    chunks = b"3;name=x\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n"
    for cut in range(len(chunks)):
        assert parse_request(head + chunks[:cut]) == "more"
    request, consumed = parsed(head + chunks + b"next")
    assert (request.body, consumed) == (b"abcde", len(head + chunks))


def test_connection_options_decide_keep_alive() -> None:
    def keep(version: bytes, connection: bytes) -> bool:
        return parsed(b"GET / " + version + b"\r\nHost: h\r\n" + connection + b"\r\n")[0].keep_alive

    assert keep(b"HTTP/1.1", b"") and not keep(b"HTTP/1.1", b"Connection: TE, Close\r\n")
    assert not keep(b"HTTP/1.0", b"") and keep(b"HTTP/1.0", b"Connection: Keep-Alive\r\n")


def test_an_absolute_target_is_reduced_to_its_path() -> None:
    request = parsed(b"GET http://h:1/_stats?a=1 HTTP/1.1\r\nHost: h\r\n\r\n")[0]
    assert (request.path, request.query_string) == ("/_stats", "a=1")


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 400),
        (b"G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # HTTP/1.1 without Host
        (b"GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: h\r\nNo-Colon\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: h\x00\r\n\r\n", 400),
        (b"GET nowhere HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
            400,
        ),
        (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1), 413),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n"
            % (MAX_BODY + 1),
            413,
        ),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 431),
        (b"GET /" + b"a" * 9000, 431),
        (b"GET / HTTP/1.1\r\nHost: h\r\n" + b"X: y\r\n" * 20000, 431),
    ],
)
def test_requests_the_server_refuses(raw: bytes, status: int) -> None:
    assert refused(raw) == status


def test_response_heads() -> None:
    head = response_head(1, 429, "application/json", 12, {"Retry-After": "3"}, True)
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 429 Too Many Requests"
    assert lines[1:3] == ["Content-Type: application/json", "Content-Length: 12"]
    assert lines[3].startswith("Date: ") and lines[3].endswith(" GMT")
    assert lines[4:] == ["Retry-After: 3", "", ""]
    assert b"Connection: close\r\n" in response_head(1, 200, "text/html", 0, {}, False)
    assert b"Connection: keep-alive\r\n" in response_head(0, 200, "text/html", 0, {}, True)
    assert b"Connection" not in response_head(0, 200, "text/html", 0, {}, False)


CHUNKED = b"POST /v1/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        # Bare LF line ends: answered at once, not waited on until the head limit.
        (b"GET /v1/x HTTP/1.1\nHost: x\n\n", 400),
        (b"GET /v1/x HTTP/1.1\r\nHost: x\n\n", 400),
        (b"GET /v1/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (
            CHUNKED + b"2 \r\n{}\r\n0\r\n\r\n",
            400,
        ),
        (
            b"POST /v1/x HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: 2\r\n\r\n{}",
            415,
        ),
    ],
)
def test_what_a_strict_server_refuses_is_refused(raw: bytes, status: int) -> None:
    assert refused(raw) == status


def test_blanks_before_a_chunk_extension_are_allowed() -> None:
    raw = CHUNKED + b"2 ;a=b\r\n{}\r\n0\r\n\r\n"
    request, _ = parsed(raw)
    assert request.body == b"{}"
