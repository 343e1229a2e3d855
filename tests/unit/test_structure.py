"""How the package is shaped: thin commands, a core without terminals, adapters behind Protocols, and one
implementation of each piece of logic that used to be written several times."""

from __future__ import annotations

import ast
import re
import typing
from pathlib import Path

import pytest

from cocusctl.adapters import Adapters
from cocusctl.core.infra import TERRAFORM_MIN_VERSION

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "cocusctl"
CLI_SHARED = {"cocusctl.cli.context", "cocusctl.cli.options", "cocusctl.cli.output"}


def modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", modules(PACKAGE / "cli"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_commands_do_not_import_each_other(path: Path) -> None:
    """Logic two commands share lives in core; a command module imports only the CLI's plumbing and views."""
    if path.name == "__init__.py" and path.parent.name == "cli":
        return  # the one place commands are registered
    others = {m for m in imported(path) if m.startswith("cocusctl.cli.") and m not in CLI_SHARED
              and not m.startswith("cocusctl.cli.views")}
    assert not others, f"{path.name} imports command modules {sorted(others)}"


@pytest.mark.parametrize("path", modules(PACKAGE / "core"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_never_imports_typer_or_rich(path: Path) -> None:
    bad = {m for m in imported(path) if m.split(".")[0] in ("typer", "rich", "click")}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def type_checking_namespace(path: Path) -> dict[str, object]:
    """The names a module imports under `if TYPE_CHECKING:` (its annotations refer to them)."""
    namespace: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            exec(compile(ast.Module(body=node.body, type_ignores=[]), str(path), "exec"), namespace)  # noqa: S102
    return namespace


def test_adapter_factories_return_the_cores_protocols() -> None:
    factories = [name for name in vars(Adapters) if not name.startswith("_")]
    assert factories
    namespace = type_checking_namespace(PACKAGE / "adapters" / "__init__.py")
    for name in factories:
        returned = typing.get_type_hints(getattr(Adapters, name), localns=namespace)["return"]
        assert getattr(returned, "_is_protocol", False), f"Adapters.{name} returns {returned}, not a Protocol"


# Each pattern may appear in exactly one module: the one implementation of that logic.
ONE_IMPLEMENTATION = {
    "Application Default Credentials": (r"\.default\(scopes=", "adapters/google_auth.py"),
    "ID tokens": (r"fetch_id_token\(", "adapters/google_auth.py"),
    "are we in CI": (r"""environ(?:\.get)?\(?\[?["']CI["']""", "core/ci.py"),
    "is this endpoint local": (r"\.is_loopback\b(?!\()", "core/net.py"),
    "image reference grammar": (r"sha256:\[0-9a-f\]\{64\}", "core/images.py"),
    "terraform minimum version": (r"TERRAFORM_MIN_VERSION = ", "core/infra.py"),
}


@pytest.mark.parametrize("what", sorted(ONE_IMPLEMENTATION))
def test_one_implementation(what: str) -> None:
    pattern, home = ONE_IMPLEMENTATION[what]
    found = sorted(str(p.relative_to(PACKAGE)) for p in modules(PACKAGE)
                   if re.search(pattern, p.read_text(encoding="utf-8")))
    assert found == [home], f"{what}: {found}"


def test_every_terraform_module_requires_the_minimum_version_cocusctl_checks() -> None:
    wanted = f'required_version = ">= {".".join(map(str, TERRAFORM_MIN_VERSION))}"'
    versions = sorted((ROOT / "terraform").rglob("versions.tf"))
    assert versions
    for path in versions:
        text = path.read_text(encoding="utf-8")
        assert wanted in text, f"{path.relative_to(ROOT)}: {re.findall(r'required_version.*', text)}"
    literal = re.compile(r"Terraform >= \d|TERRAFORM_MIN=\d")
    for path in [*modules(PACKAGE), *sorted((ROOT / "scripts").rglob("*.sh"))]:
        assert not literal.search(path.read_text(encoding="utf-8")), f"{path}: a second minimum version"
