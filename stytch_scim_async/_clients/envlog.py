"""`STYTCH_SCIM_LOG=info|debug`: the library's logging on, without code (as `OPENAI_LOG`).

Read when a client is built. With a valid level, the `stytch_scim_async` logger gets
one stderr handler at that level, unless it already has a handler (an app that
configured logging keeps its configuration). `debug` also logs every hook event
(`_engine.hooks.log_event`), one line per attempt, retry or throttle. An unknown value
is ignored with one warning per value: a typo in an environment variable should not
stop a service from starting. No line the library logs carries a secret.
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["LOG_VARIABLE", "log_level_from_env"]

LOG_VARIABLE = "STYTCH_SCIM_LOG"
"""The environment variable that turns the library's logging on."""

_LEVELS = {"info": logging.INFO, "debug": logging.DEBUG}
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_warned: set[str] = set()
logger = logging.getLogger("stytch_scim_async")


def log_level_from_env() -> int | None:
    """Apply `STYTCH_SCIM_LOG` and return its level (None when unset or unknown)."""
    raw = os.environ.get(LOG_VARIABLE)
    if not raw:
        return None
    level = _LEVELS.get(raw.strip().lower())
    if level is None:
        if raw not in _warned:
            _warned.add(raw)
            logger.warning(
                "%s=%r is not a level this library knows (use info or debug); ignored",
                LOG_VARIABLE,
                raw[:40],
            )
        return None
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(handler)
        logger.setLevel(level)
    return level
