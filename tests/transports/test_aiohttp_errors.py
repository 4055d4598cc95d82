"""The aiohttp error table: complete, and each row's meaning for a create's safety."""

from __future__ import annotations

import inspect

import aiohttp
import pytest

import stytch_scim_async as scim
from stytch_scim_async._transports.aiohttp import ERRORS, Failure, map_error

EXPORTED = sorted(
    (
        cls
        for name in aiohttp.__all__
        if inspect.isclass(cls := getattr(aiohttp, name)) and issubclass(cls, aiohttp.ClientError)
    ),
    key=lambda cls: cls.__name__,
)

#: Failures after which the request certainly never reached Stytch: a create may be
#: posted again without a look.
NOT_SENT = {Failure.NO_CONNECTION, Failure.PROXY_REFUSED, Failure.NOT_SENT}


def bare(cls: type[BaseException]) -> BaseException:
    """An instance without running aiohttp's constructor (their signatures differ)."""
    return cls.__new__(cls)


def test_every_client_error_aiohttp_exports_has_its_own_row() -> None:
    assert len(EXPORTED) > 20
    missing = [cls.__name__ for cls in EXPORTED if cls not in ERRORS]
    assert missing == []


@pytest.mark.parametrize("cls", EXPORTED, ids=lambda cls: cls.__name__)
def test_each_row_maps_to_an_error_whose_sent_flag_matches_its_meaning(
    cls: type[BaseException],
) -> None:
    error = map_error(bare(cls), "create", 10.0)
    assert isinstance(error, scim.TransportError)
    assert error.sent is (ERRORS[cls] not in NOT_SENT)
    assert str(error).startswith(f"create: {ERRORS[cls].value}")


def test_a_connect_timeout_is_a_connect_error_though_aiohttp_calls_it_a_server_timeout() -> None:
    assert issubclass(aiohttp.ConnectionTimeoutError, aiohttp.ServerTimeoutError)
    error = map_error(bare(aiohttp.ConnectionTimeoutError), "create", 10.0)
    assert type(error) is scim.ConnectError
    assert error.sent is False


def test_a_read_timeout_may_have_committed() -> None:
    for exc in (TimeoutError(), bare(aiohttp.SocketTimeoutError)):
        error = map_error(exc, "create", 2.5)
        assert type(error) is scim.RequestTimeoutError
        assert error.sent is True
        assert str(error) == "create: no response within 2.5 s"


def test_an_unknown_subclass_inherits_its_nearest_bases_row() -> None:
    class Custom(aiohttp.ServerDisconnectedError):
        pass

    assert map_error(bare(Custom), "get", None).sent is True

    class Refused(aiohttp.ClientConnectorError):
        pass

    assert type(map_error(bare(Refused), "get", None)) is scim.ConnectError


def test_the_message_names_the_class_never_aiohttp_s_text() -> None:
    exc = aiohttp.ClientPayloadError("Authorization: Basic c2VjcmV0 in a broken chunk")
    error = map_error(exc, "create", 10.0)
    assert "Basic" not in str(error)
    assert "ClientPayloadError" in str(error)
    assert error.__cause__ is None
