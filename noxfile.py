"""Developer sessions. They run in the interpreter that runs nox (venv_backend="none"): run nox from the
project's .venv (`.venv/bin/nox`, after `bash scripts/install.sh`), which is what the scripts and CI use."""

from __future__ import annotations

import nox

nox.options.sessions = ["unit"]
nox.options.default_venv_backend = "none"


@nox.session
def unit(session: nox.Session) -> None:
    """The fast loop: lint, types, unit and CLI tests; starts no daemon (`bash scripts/test.sh --unit`)."""
    session.run("bash", "scripts/test.sh", "--unit", *session.posargs, external=True)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite, after setting up the local stack (same as `bash scripts/test.sh`, what CI runs)."""
    session.run("bash", "scripts/test.sh", *session.posargs, external=True)


@nox.session
def e2e(session: nox.Session) -> None:
    """Only the whole-lifecycle tests."""
    session.run("bash", "scripts/test.sh", "tests/e2e", *session.posargs, external=True)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy over the package, the service, the tests and the benchmarks."""
    session.run("ruff", "check", "cocusctl", "service", "tests", "benchmarks", "noxfile.py", external=True)
    session.run("mypy", "cocusctl", "service/cocus_rag", external=True)


@nox.session
def demo(session: nox.Session) -> None:
    """The README's main job: build → scan → push → deploy → query → canary → promote, all local."""
    session.run("bash", "scripts/demo.sh", *session.posargs, external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark under benchmarks/ (results in benchmarks/results/), then the README table from them."""
    import pathlib

    helpers = {"report.py", "service_common.py", "cluster_common.py"}
    for script in sorted(pathlib.Path("benchmarks").glob("*.py")):
        if script.name not in helpers:
            session.run("python", str(script), external=True)
    session.run("python", "benchmarks/report.py", external=True)
