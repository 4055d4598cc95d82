"""Developer tasks. `nox -s tests` is what CI and the README run."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
EXTRAS = ".[fastapi,cli]"


def _group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The whole suite (with the CI-size chaos run) and the branch-coverage floor."""
    session.install("-e", EXTRAS, *_group("test"))
    # coverage starts before pytest so the emulator's pytest plugin (loaded through an
    # entry point at startup) does not hide the package's import-time lines.
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", "-W", "error", *session.posargs)
    session.run("coverage", "report", "--fail-under=95")


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install(*_group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package and the tests."""
    session.install(EXTRAS, *_group("typecheck"))
    session.run("mypy", "--strict")


@nox.session(python="3.11")
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


@nox.session(python="3.11")
def chaos(session: nox.Session) -> None:
    """The chaos suite at its big size (20,000 organizations per run)."""
    session.install("-e", EXTRAS, *_group("test"))
    session.run(
        "pytest", "-W", "error", "-m", "chaos", "-s", "tests/chaos", env={"CHAOS_ORGS": "20000"}
    )


@nox.session(python="3.11")
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


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Every benchmark; each starts the emulator in a process of its own."""
    session.install("-e", EXTRAS, *_group("bench"))
    session.run("python", "benchmarks/bench_emulator.py")
    session.run("python", "benchmarks/bench_client.py")
    session.run("python", "benchmarks/bench_provision.py")


@nox.session(python="3.11")
def mutants(session: nox.Session) -> None:
    """Mutation testing (mutmut) of the modules listed in pyproject's [tool.mutmut]; slow,
    so never in the default run. `nox -s mutants -- NAME…` runs only those mutants."""
    session.install("-e", EXTRAS, *_group("mutants"))
    session.run("mutmut", "run", *session.posargs)
    session.run("mutmut", "results")
