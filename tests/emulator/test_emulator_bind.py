"""The emulator's control routes are unauthenticated: it serves on loopback only, and
a port already taken is one clear line, not a traceback."""

from __future__ import annotations

import socket

import pytest

from stytch_scim_async.testing import StytchEmulator, main


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.com"])  # noqa: S104
def test_a_host_that_is_not_loopback_is_refused(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        StytchEmulator(host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    StytchEmulator(host=host)


def test_the_command_refuses_a_public_host(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--host", "0.0.0.0"])  # noqa: S104 - refused, never bound
    assert info.value.code == 2
    assert "loopback" in capsys.readouterr().err


def test_a_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"cannot serve on 127.0.0.1:{port}" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
