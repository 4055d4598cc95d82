"""``python -m stytch_scim_async.testing``: serve the emulator from a shell.

Prints ``key=value`` lines (``base_url``, ``project_id``, ``secret``,
``public_token``) once it is listening, so a script or another process can read
them, then serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from ._faults import ROUTES, Faults
from ._ratelimit import RATE_LIMIT_MODES, RateLimit
from ._server import StytchEmulator
from ._settings import IDENTITY_PROVIDERS, Settings

__all__ = ["build_parser", "faults_from_args", "main", "serve", "settings_from_args"]

_PROBABILITY_FLAGS = (
    "p_500_before_commit",
    "p_500_after_commit",
    "p_html_502",
    "p_truncated_json",
    "p_drop_before_commit",
    "p_drop_after_commit",
    "p_stall_after_commit",
)


def build_parser(prog: str = "python -m stytch_scim_async.testing") -> argparse.ArgumentParser:
    """The command line: address, seed and one flag per `Faults` field."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a fake Stytch B2B SCIM API on 127.0.0.1.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to bind (127.0.0.1, ::1, localhost)"
    )
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument("--seed", type=int, default=0, help="seed for ids, tokens and faults")
    parser.add_argument(
        "--server",
        choices=("lean", "aiohttp"),
        default="lean",
        help="HTTP server: the emulator's own (lean, default) or aiohttp's",
    )
    parser.add_argument(
        "--strict-organizations",
        action="store_true",
        help="answer organization_not_found for organizations never added",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--jitter", type=float, default=0.0, help="up to this many extra seconds")
    parser.add_argument(
        "--rate-limit", type=float, default=None, help="requests/second per SCIM route"
    )
    parser.add_argument(
        "--rate-limit-mode",
        choices=RATE_LIMIT_MODES,
        default="fixed-window",
        help="clock-aligned fixed windows (as Stytch) or a token bucket",
    )
    parser.add_argument(
        "--rate-limit-window", type=float, default=1.0, help="fixed window length in seconds"
    )
    parser.add_argument("--burst", type=int, default=None, help="token bucket size")
    parser.add_argument(
        "--search-rate-limit",
        type=int,
        default=None,
        help="organizations searches per search window (default 100 once --rate-limit is set)",
    )
    parser.add_argument(
        "--search-rate-window", type=float, default=60.0, help="search window in seconds"
    )
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="[GROUP=]ROUTES:LIMIT/WINDOW",
        help="a further fixed-window limit (repeatable), e.g. 'writes=create,delete:20/1'",
    )
    parser.add_argument(
        "--retry-after",
        choices=("seconds", "http-date", "none"),
        default="none",
        help="how 429s spell Retry-After (Stytch documents none)",
    )
    for name in _PROBABILITY_FLAGS:
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, type=float, default=0.0, help="probability per request")
    parser.add_argument("--stall-seconds", type=float, default=60.0, help="length of a stall")
    parser.add_argument(
        "--routes",
        default=None,
        help=f"comma-separated routes the faults apply to (of {', '.join(sorted(ROUTES))})",
    )
    parser.add_argument(
        "--default-identity-provider",
        default="generic",
        help="identity_provider of a create that names none (an assumption)",
    )
    parser.add_argument(
        "--any-identity-provider",
        action="store_true",
        help="accept any identity_provider, not only the known ones",
    )
    parser.add_argument(
        "--no-slug-resolution",
        action="store_true",
        help="take every backend path segment as an organization id, never as a slug",
    )
    parser.add_argument(
        "--get-returns-deleted",
        action="store_true",
        help="a GET without an active connection answers the last deleted one",
    )
    parser.add_argument(
        "--sdk-allowed-origin",
        action="append",
        default=None,
        metavar="ORIGIN",
        help="frontend-SDK routes need this Origin (repeatable; e.g. https://app.example.com)",
    )
    parser.add_argument(
        "--http-only-cookies",
        action="store_true",
        help="frontend-SDK routes need a custom domain (see --custom-domain)",
    )
    parser.add_argument(
        "--custom-domain",
        action="append",
        default=[],
        metavar="HOST",
        help="a Host header value counted as the project's custom domain (repeatable)",
    )
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Build `Settings` from parsed flags (raises ValueError when invalid)."""
    return Settings(
        default_identity_provider=args.default_identity_provider,
        identity_providers=None if args.any_identity_provider else IDENTITY_PROVIDERS,
        resolve_slugs=not args.no_slug_resolution,
        get_returns_deleted=args.get_returns_deleted,
        sdk_allowed_origins=(
            None if args.sdk_allowed_origin is None else frozenset(args.sdk_allowed_origin)
        ),
        http_only_cookies=args.http_only_cookies,
        custom_domains=frozenset(args.custom_domain),
    )


def faults_from_args(args: argparse.Namespace) -> Faults:
    """Build `Faults` from parsed flags (raises ValueError when invalid)."""
    routes = None
    if args.routes:
        routes = frozenset(part.strip() for part in args.routes.split(",") if part.strip())
    return Faults(
        latency=args.latency,
        jitter=args.jitter,
        rate_limit=args.rate_limit,
        rate_limit_mode=args.rate_limit_mode,
        rate_limit_window=args.rate_limit_window,
        burst=args.burst,
        search_rate_limit=args.search_rate_limit,
        search_rate_window=args.search_rate_window,
        rate_limits=tuple(RateLimit.parse(spec) for spec in args.limit),
        retry_after=None if args.retry_after == "none" else args.retry_after,
        stall_seconds=args.stall_seconds,
        routes=routes,
        **{name: getattr(args, name) for name in _PROBABILITY_FLAGS},
    )


async def serve(emulator: StytchEmulator, stop: asyncio.Event, out: TextIO) -> None:
    """Run ``emulator`` until ``stop`` is set, announcing its address on ``out``."""
    async with emulator:
        lines = (
            f"base_url={emulator.base_url}",
            f"project_id={emulator.project_id}",
            f"secret={emulator.secret}",
            f"public_token={emulator.public_token}",
        )
        out.write("\n".join(lines) + "\n")
        out.flush()
        await stop.wait()


async def _run(args: argparse.Namespace, faults: Faults, settings: Settings, out: TextIO) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        emulator = StytchEmulator(
            faults=faults,
            settings=settings,
            seed=args.seed,
            host=args.host,
            port=args.port,
            strict_organizations=args.strict_organizations,
            server=args.server,
        )
        await serve(emulator, stop, out)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(signum)


def main(
    argv: Sequence[str] | None = None,
    out: TextIO | None = None,
    prog: str = "python -m stytch_scim_async.testing",
) -> int:
    """Entry point: parse ``argv``, serve until SIGINT/SIGTERM, return the exit code.
    `prog` is the name `--help` shows (the CLI passes `stytch-scim emulator`)."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        faults = faults_from_args(args)
        settings = settings_from_args(args)
        StytchEmulator(host=args.host)  # refuses a host that is not loopback
    except ValueError as exc:
        parser.error(str(exc))
    try:
        asyncio.run(_run(args, faults, settings, out if out is not None else sys.stdout))
    except OSError as exc:  # the port is taken, or the address cannot be bound
        print(
            f"{prog}: error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    return 0
