"""``python -m stytch_scim_async.testing`` and the pytest plugin module."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import io
import os
import signal
import sys
from types import ModuleType
from typing import Any

import aiohttp
import pytest

import stytch_scim_async.testing as testing
from stytch_scim_async.testing import Faults, StytchEmulator
from stytch_scim_async.testing._cli import build_parser, faults_from_args, main, serve


class InterruptingStdout(io.StringIO):
    """Captures output and sends this process SIGINT once the address is announced."""

    def flush(self) -> None:
        super().flush()
        if "public_token=" in self.getvalue():
            os.kill(os.getpid(), signal.SIGINT)


def settings_of(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_flags_build_faults() -> None:
    args = build_parser().parse_args(
        [
            "--rate-limit",
            "5",
            "--burst",
            "2",
            "--retry-after",
            "none",
            "--latency",
            "0.01",
            "--jitter",
            "0.02",
            "--p-html-502",
            "0.1",
            "--p-stall-after-commit",
            "0.2",
            "--stall-seconds",
            "3",
            "--routes",
            "create, get,",
        ]
    )
    assert faults_from_args(args) == Faults(
        rate_limit=5.0,
        burst=2,
        retry_after=None,
        latency=0.01,
        jitter=0.02,
        p_html_502=0.1,
        p_stall_after_commit=0.2,
        stall_seconds=3.0,
        routes=frozenset({"create", "get"}),
    )
    assert faults_from_args(build_parser().parse_args([])) == Faults()


def test_the_server_flag() -> None:
    assert build_parser().parse_args([]).server == "lean"
    assert build_parser().parse_args(["--server", "aiohttp"]).server == "aiohttp"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--server", "twisted"])


def test_invalid_faults_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--p-500-before-commit", "0.7", "--p-html-502", "0.7"])
    assert exited.value.code == 2
    assert "add up to more than 1" in capsys.readouterr().err


@pytest.mark.parametrize("server", [[], ["--server", "aiohttp"]])
def test_main_serves_until_interrupted(monkeypatch: pytest.MonkeyPatch, server: list[str]) -> None:
    out = InterruptingStdout()
    monkeypatch.setattr(sys, "stdout", out)
    argv = ["stytch_scim_async.testing", "--seed", "4", "--port", "0", *server]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exited:
        # Importing __main__ runs it, as ``python -m`` does.
        importlib.import_module("stytch_scim_async.testing.__main__")
    monkeypatch.delitem(sys.modules, "stytch_scim_async.testing.__main__", raising=False)
    assert exited.value.code == 0
    settings = settings_of(out.getvalue())
    assert list(settings) == ["base_url", "project_id", "secret", "public_token"]
    assert settings["base_url"].startswith("http://127.0.0.1:")
    assert settings["project_id"] == StytchEmulator(seed=4).project_id
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


async def test_serve_announces_and_stops() -> None:
    stop = asyncio.Event()
    out = io.StringIO()
    emu = StytchEmulator(seed=2)
    task = asyncio.create_task(serve(emu, stop, out))
    while "public_token=" not in out.getvalue():
        await asyncio.sleep(0.01)
    assert settings_of(out.getvalue())["secret"] == emu.secret
    assert emu.running
    stop.set()
    await task
    assert not emu.running


async def test_module_runs_in_a_subprocess() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "stytch_scim_async.testing",
        "--port",
        "0",
        "--p-500-before-commit",
        "1.0",
        "--routes",
        "get",
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        lines = [(await asyncio.wait_for(process.stdout.readline(), 20)).decode() for _ in range(4)]
        settings = settings_of("".join(lines))
        base = settings["base_url"]
        auth = {
            "Authorization": aiohttp.encode_basic_auth(settings["project_id"], settings["secret"])
        }
        async with aiohttp.ClientSession(headers=auth) as http:
            async with http.post(f"{base}/v1/b2b/scim/org-1/connection", json={}) as response:
                assert response.status == 200
            async with http.get(f"{base}/v1/b2b/scim/org-1/connection") as response:
                assert response.status == 500
            async with http.get(f"{base}/_tokens") as response:
                assert list(await response.json()) == ["org-1"]
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0


def _load_plugin(monkeypatch: pytest.MonkeyPatch, *, with_pytest_asyncio: bool) -> ModuleType:
    if not with_pytest_asyncio:
        real_find_spec = importlib.util.find_spec

        def find_spec(name: str, package: str | None = None) -> Any:
            return None if name == "pytest_asyncio" else real_find_spec(name, package)

        monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    origin = importlib.util.find_spec("stytch_scim_async.testing.pytest_plugin")
    assert origin is not None and origin.origin is not None
    # A fresh copy of the plugin module, named inside the package so that coverage
    # (which pytest starts only after loading entry-point plugins) measures it.
    name = "stytch_scim_async.testing.pytest_plugin_copy"
    spec = importlib.util.spec_from_file_location(name, origin.origin)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plugin_defines_nothing_without_pytest_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    module = _load_plugin(monkeypatch, with_pytest_asyncio=False)
    assert not hasattr(module, "stytch_emulator")
    assert hasattr(module, "EmulatorFactory")


def test_plugin_defines_the_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    module = _load_plugin(monkeypatch, with_pytest_asyncio=True)
    assert hasattr(module, "stytch_emulator") and hasattr(module, "stytch_emulator_factory")


def test_package_exports_lazily() -> None:
    importlib.reload(testing)
    assert testing.StytchEmulator is StytchEmulator
    assert "StytchEmulator" in dir(testing)
    assert set(testing.__all__) <= set(dir(testing))
    for name in testing.__all__:
        assert getattr(testing, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = testing.Nope
