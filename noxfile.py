"""Developer sessions. They run in the current interpreter (venv_backend="none"): the machine set-up
scripts install everything system-wide, exactly as CI does, so a session and CI see the same packages."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "none"


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite, after setting up the local stack (same as `bash scripts/test.sh`)."""
    session.run("bash", "scripts/test.sh", *session.posargs, external=True)


@nox.session
def e2e(session: nox.Session) -> None:
    """Only the whole-lifecycle tests."""
    session.run("bash", "scripts/test.sh", "tests/e2e", *session.posargs, external=True)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on everything, mypy on the cocusctl package."""
    session.run("ruff", "check", "cocusctl", "tests", "benchmarks", "service", "noxfile.py", external=True)
    session.run("mypy", "cocusctl", external=True)


@nox.session
def demo(session: nox.Session) -> None:
    """The README's main job: build → scan → push → deploy → query → canary → promote, all local."""
    session.run("bash", "scripts/demo.sh", *session.posargs, external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark under benchmarks/ (results in benchmarks/results/), then the README table from them."""
    import pathlib

    helpers = {"report.py", "service_common.py"}
    for script in sorted(pathlib.Path("benchmarks").glob("*.py")):
        if script.name not in helpers:
            session.run("python3", str(script), external=True)
    session.run("python3", "benchmarks/report.py", external=True)
