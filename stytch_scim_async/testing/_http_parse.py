"""HTTP/1.1 request parsing and response heads for the emulator's own server.

Only what the emulator's clients send is understood: a request line, headers, and
a body framed by ``Content-Length`` or chunked. Anything else is an `HttpError`
(answered, then the connection closed), never a guess.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from http import HTTPStatus
from typing import Final, Literal, NamedTuple

from multidict import CIMultiDict, MultiDictProxy
from yarl import URL

__all__ = [
    "MAX_BODY",
    "MAX_HEAD",
    "MAX_LINE",
    "HttpError",
    "Request",
    "parse_request",
    "query_of",
    "response_head",
]

MAX_LINE: Final = 8190
"""The longest request line or header line (aiohttp's limit)."""
MAX_HEAD: Final = 65536
"""The longest request head, request line and headers together."""
MAX_BODY: Final = 1024**2
"""The largest request body (aiohttp's ``client_max_size``): larger ones get 413."""

_REQUEST_LINE: Final = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([!-~]+) HTTP/1\.([01])")
# A whole header line (a line start is a position no other character than LF precedes),
# its value without the blanks around it.
_HEADER_LINE: Final = re.compile(
    r"(?<![^\n])([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*((?:[^\r\n\x00]*[^\r\n\x00 \t])?)[ \t]*\r\n"
)
_HEX: Final = re.compile(rb"[0-9A-Fa-f]{1,16}")
_CONTINUE: Final = "100-continue"

Incomplete = Literal["more", "continue"]
"""Why `parse_request` has no request yet: it needs more bytes, and (``continue``)
the client waits for ``100 Continue`` before sending the body."""


class HttpError(Exception):
    """A request the server refuses: answered with ``status`` and then closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Request(NamedTuple):
    """One parsed request; ``path`` is still percent-encoded, as the fake wants it."""

    method: str
    path: str
    query_string: str
    headers: CIMultiDict[str]
    body: bytes
    keep_alive: bool
    minor: int
    """The HTTP/1.x minor version: 1, or 0 for HTTP/1.0."""


def parse_request(buffer: bytes) -> tuple[Request, int] | Incomplete:
    """The first complete request in ``buffer`` and how many bytes it took."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        first_line = buffer.find(b"\r\n")
        if len(buffer) > MAX_HEAD or (first_line < 0 and len(buffer) > MAX_LINE):
            raise HttpError(431, "The request head is too large.")
        if buffer.count(b"\n") != buffer.count(b"\r\n"):  # it would never end
            raise HttpError(400, "A bare LF in the request head.")
        return "more"
    if end > MAX_HEAD:
        raise HttpError(431, "The request head is too large.")
    raw = buffer[: end + 2]  # every line with its CRLF
    lines = raw.count(b"\r\n")
    if raw.count(b"\r") != lines or raw.count(b"\n") != lines:
        raise HttpError(400, "A bare CR or LF in the request head.")
    text = raw.decode("utf-8", "surrogateescape")
    if end > MAX_LINE and max(map(len, text.split("\r\n"))) > MAX_LINE:
        raise HttpError(431, "A request head line is too long.")
    line_end = text.find("\r\n")
    line = _REQUEST_LINE.fullmatch(text, 0, line_end)
    if line is None:
        raise HttpError(400, "The request line is malformed.")
    method, target, minor_text = line.groups()
    minor = int(minor_text)
    # Every header line must match as a whole (NUL nowhere): one match a line.
    pairs: list[tuple[str, str]] = _HEADER_LINE.findall(text, line_end + 2)
    if len(pairs) != lines - 1:
        raise HttpError(400, "A header line is malformed.")
    headers: CIMultiDict[str] = CIMultiDict(pairs)
    hosts = len(headers.getall("Host", ()))
    if minor == 1 and not hosts:
        raise HttpError(400, "Missing 'Host' header in request.")
    if hosts > 1:
        raise HttpError(400, "Duplicate 'Host' header in request.")
    if headers.get("Content-Encoding", "identity").lower() != "identity":
        raise HttpError(415, "A request body with a content coding is not supported.")
    path, query_string = _split_target(method, target)
    keep_alive = _keep_alive(headers, minor)
    start = end + 4
    if "Transfer-Encoding" in headers:
        if "Content-Length" in headers:
            raise HttpError(400, "Transfer-Encoding can't be present with Content-Length.")
        if headers["Transfer-Encoding"].lower() != "chunked":
            raise HttpError(501, "Only the chunked transfer coding is supported.")
        chunked = _dechunk(buffer, start)
        if chunked is None:
            return _incomplete(headers)
        body, consumed = chunked
    else:
        length = _content_length(headers)
        consumed = start + length
        if len(buffer) < consumed:
            return _incomplete(headers)
        body = buffer[start:consumed]
    return Request(method, path, query_string, headers, body, keep_alive, minor), consumed


def _incomplete(headers: Mapping[str, str]) -> Incomplete:
    return "continue" if headers.get("Expect", "").lower() == _CONTINUE else "more"


def _split_target(method: str, target: str) -> tuple[str, str]:
    if target.startswith("/"):
        path, _, query_string = target.partition("#")[0].partition("?")
        return path, query_string
    if target == "*" and method == "OPTIONS":
        return target, ""
    try:
        url = URL(target, encoded=True)
    except ValueError:
        url = None
    if url is None or not url.absolute:
        raise HttpError(400, "The request target is malformed.")
    return url.raw_path, url.raw_query_string


def _keep_alive(headers: Mapping[str, str], minor: int) -> bool:
    if "Connection" not in headers:
        return minor == 1
    options = {part.strip().lower() for part in headers.get("Connection", "").split(",")}
    return "close" not in options if minor == 1 else "keep-alive" in options


def _content_length(headers: CIMultiDict[str]) -> int:
    values = headers.getall("Content-Length", ())
    if not values:
        return 0
    if (len(values) > 1 and len(set(values)) > 1) or not (
        values[0].isascii() and values[0].isdigit()
    ):
        raise HttpError(400, "The Content-Length header is invalid.")
    length = int(values[0])
    if length > MAX_BODY:
        raise HttpError(413, f"The request body is larger than {MAX_BODY} bytes.")
    return length


def _dechunk(buffer: bytes, start: int) -> tuple[bytes, int] | None:
    """The chunked body from ``start`` and where it ends, or None if incomplete."""
    parts: list[bytes] = []
    size_total = 0
    position = start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            if len(buffer) - position > MAX_LINE:
                raise HttpError(400, "A chunk size line is too long.")
            return None
        size_text, extension, _ = buffer[position:line_end].partition(b";")
        if extension:  # blanks may stand before a chunk extension, nowhere else
            size_text = size_text.rstrip(b" \t")
        if _HEX.fullmatch(size_text) is None:
            raise HttpError(400, "A chunk size is malformed.")
        size = int(size_text, 16)
        position = line_end + 2
        if size == 0:
            return _skip_trailers(buffer, position, b"".join(parts))
        size_total += size
        if size_total > MAX_BODY:
            raise HttpError(413, f"The request body is larger than {MAX_BODY} bytes.")
        if len(buffer) < position + size + 2:
            return None
        if buffer[position + size : position + size + 2] != b"\r\n":
            raise HttpError(400, "A chunk does not end with CRLF.")
        parts.append(buffer[position : position + size])
        position += size + 2


def _skip_trailers(buffer: bytes, position: int, body: bytes) -> tuple[bytes, int] | None:
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            if len(buffer) - position > MAX_HEAD:
                raise HttpError(431, "The trailers are too large.")
            return None
        if line_end == position:
            return body, line_end + 2
        position = line_end + 2


def query_of(query_string: str) -> MultiDictProxy[str]:
    """The query's parameters, decoded as aiohttp's ``request.query`` decodes them."""
    return URL.build(query_string=query_string, encoded=True).query


_REASONS: Final = {status.value: status.phrase for status in HTTPStatus}
_date: list[tuple[int, str]] = [(0, "")]


def _http_date() -> str:
    now = int(time.time())
    cached = _date[0]
    if cached[0] != now:
        cached = (now, email.utils.formatdate(now, usegmt=True))
        _date[0] = cached
    return cached[1]


def response_head(
    minor: int,
    status: int,
    content_type: str,
    length: int,
    headers: Mapping[str, str],
    keep_alive: bool,
) -> bytes:
    """A response's status line and headers, through the blank line."""
    reason = _REASONS.get(status, "Unknown")
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items()) if headers else ""
    if keep_alive:
        connection = "Connection: keep-alive\r\n" if minor == 0 else ""
    else:
        connection = "Connection: close\r\n" if minor == 1 else ""
    return (
        f"HTTP/1.{minor} {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\nDate: {_http_date()}\r\n{extra}{connection}\r\n"
    ).encode("latin-1")
