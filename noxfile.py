"""Developer tasks. `nox -s tests` is what CI and the README run.

Every session but `tests-all` runs on the interpreter nox itself runs on (any
supported Python, 3.11 to 3.13), so a machine with only one of them never skips a
session and then reports success. `tests-all` runs the suite on each supported
interpreter the machine has (with `--error-on-missing-interpreters`, each must be).
"""

from __future__ import annotations

import sys

import nox

#: The interpreters the package supports and tests (pyproject's classifiers too).
PYTHONS = ["3.11", "3.12", "3.13"]

nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
EXTRAS = ".[fastapi,cli,otel]"


def _group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


def _supported(session: nox.Session) -> None:
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if session.python is None and running not in PYTHONS:
        session.error(f"Python {running} is not supported: use one of {', '.join(PYTHONS)}")


@nox.session(python=None)
def tests(session: nox.Session) -> None:
    """The whole suite (with the CI-size chaos run) and the branch-coverage floor, on
    the Python that runs nox."""
    _supported(session)
    _suite(session)


@nox.session(python=PYTHONS, name="tests-all")
def tests_all(session: nox.Session) -> None:
    """The whole suite on every supported Python."""
    _suite(session)


def _suite(session: nox.Session) -> None:
    # The docs group too: tests/docs/test_api_reference.py builds the site (about 3 s).
    session.install("-e", EXTRAS, *_group("test"), *_group("docs"))
    # coverage starts before pytest so the emulator's pytest plugin (loaded through an
    # entry point at startup) does not hide the package's import-time lines.
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", "-W", "error", *session.posargs)
    session.run("coverage", "report", "--fail-under=95")


@nox.session(python=None)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install(*_group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=None)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package and the tests."""
    session.install(EXTRAS, *_group("typecheck"))
    session.run("mypy", "--strict")


@nox.session(python=None)
def docs(session: nox.Session) -> None:
    """Build the documentation site; any warning fails it."""
    session.install(EXTRAS, *_group("docs"))
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        session.create_tmp() + "/site",
        env={"NO_MKDOCS_2_WARNING": "1"},
    )


@nox.session(python=None)
def chaos(session: nox.Session) -> None:
    """The chaos suite at its big size (20,000 organizations per run), and the memory
    chaos properties at 5,000 examples each."""
    session.install("-e", EXTRAS, *_group("test"))
    session.run(
        "pytest", "-W", "error", "-m", "chaos", "-s", "tests/chaos", env={"CHAOS_ORGS": "20000"}
    )
    # The memory chaos properties, 5,000 examples each (virtual time: about 2 minutes;
    # 20,000 took 7 min for batches and more than 17 for single calls on this machine).
    session.run(
        "pytest",
        "-W",
        "error",
        "tests/provision/test_memory_chaos.py",
        "tests/provision/test_memory_chaos_single.py",
        "-k",
        "under_chaos",
        "--hypothesis-show-statistics",
        env={"MEMORY_CHAOS_EXAMPLES": "5000"},
    )


@nox.session(python=None)
def crash(session: nox.Session) -> None:
    """`stytch-scim provision` SIGKILLed ten times in a 2,000-organization run."""
    session.install("-e", EXTRAS, *_group("test"))
    session.run(
        "pytest",
        "-W",
        "error",
        "-s",
        "tests/crash",
        env={"CRASH_ORGS": "2000", "CRASH_KILLS": "10"},
    )


@nox.session(python=None)
def bench(session: nox.Session) -> None:
    """Every benchmark; each starts the emulator in a process of its own."""
    session.install("-e", EXTRAS, *_group("bench"))
    session.run("python", "benchmarks/bench_emulator.py")
    session.run("python", "benchmarks/bench_client.py")
    session.run("python", "benchmarks/bench_provision.py")
    session.run("python", "benchmarks/bench_prescan.py")
    session.run("python", "benchmarks/bench_ratelimit.py")


@nox.session(python=None)
def mutants(session: nox.Session) -> None:
    """Mutation testing (mutmut) of the modules listed in pyproject's [tool.mutmut]; slow,
    so never in the default run. `nox -s mutants -- NAME…` runs only those mutants."""
    session.install("-e", EXTRAS, *_group("mutants"))
    session.run("mutmut", "run", *session.posargs)
    session.run("mutmut", "results")
