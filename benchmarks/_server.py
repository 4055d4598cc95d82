"""Start the emulator in its own process and read its address and credentials."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def emulator_process(*flags: str) -> Iterator[dict[str, str]]:
    """Serve `python -m stytch_scim_async.testing` on a free port; yield its key=value lines."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stytch_scim_async.testing", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info: dict[str, str] = {}
        while len(info) < 4:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("the emulator exited before it printed its address")
            key, _, value = line.strip().partition("=")
            if key in ("base_url", "project_id", "secret", "public_token"):
                info[key] = value
        yield info
    finally:
        process.terminate()
        process.wait(timeout=10)


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB.

    Read from `VmHWM`, which starts afresh at exec; `ru_maxrss` would carry over the
    parent's peak into a child started with fork + exec.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
