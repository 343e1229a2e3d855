"""`cocusctl harden`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import OutputOption, output_value
from cocusctl.cli.views.harden import harden_view


def harden_command(
    ctx: typer.Context,
    inventory: Annotated[
        Path, typer.Option("--inventory", "-i", envvar="COCUSCTL_INVENTORY", help="Ansible inventory file or folder.")
    ],
    check: Annotated[
        bool, typer.Option("--check", help="Report what would change; change nothing.")
    ] = False,
    limit: Annotated[
        str | None, typer.Option("--limit", "-l", help="Only these hosts or groups (Ansible pattern).")
    ] = None,
    output: OutputOption = None,
) -> None:
    """Harden on-prem servers and run the service on them (Ansible playbook ansible/site.yml).

    Every host gets SSH, kernel, firewall, update, audit and Docker hardening; hosts in the cocus_service
    group run the image by digest. One row per host: ok, changed, failed, unreachable; Ansible's whole
    output in OUTPUT_DIR/harden/ansible.log. Exit codes: 0 done;
    12 --check found changes; 4 a host failed or was unreachable; 2 bad inventory/limit; 3 no ansible.
    """
    app_ctx = get_context(ctx, output=output_value(output))

    def action() -> object:
        from cocusctl.adapters.ansible import AnsiblePlaybook
        from cocusctl.core.contract import schema_source
        from cocusctl.core.harden import harden

        loaded = app_ctx.loaded
        log_dir = loaded.resolve_path(loaded.config.output_dir) / "harden"
        return harden(inventory, AnsiblePlaybook(), app_ctx.reporter, log_dir=log_dir,
                      settings_schema=schema_source(loaded), check=check, limit=limit)

    app_ctx.run("harden", action, harden_view)
