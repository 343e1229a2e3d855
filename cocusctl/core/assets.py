"""What cocusctl ships besides code: Jinja templates, Terraform modules, the Ansible playbook and roles,
the observability rules and dashboards, the service's settings contract.

They are package data under `cocusctl/assets/` (in the checkout, links to `templates/`, `terraform/`, `ansible/`,
`observability/` and `service/settings-schema.json`; in the wheel, real files), found through
importlib.resources, so an installed cocusctl renders and plans from any folder that holds only a `cocus.yaml`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from cocusctl.core.errors import NotAvailableError

ASSETS = Path(str(files("cocusctl") / "assets"))


def asset(relative: str) -> Path:
    """The installed path of an asset (a file or a folder); NotAvailableError when the install lacks it."""
    path = ASSETS / relative
    if not path.exists():
        raise NotAvailableError(f"cocusctl's {relative} is missing from its installation ({path})",
                                hint="reinstall cocusctl (pip install --force-reinstall 'cocusctl[infra]')")
    return path
