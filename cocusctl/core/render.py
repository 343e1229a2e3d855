"""Render an environment's Terraform inputs from Jinja templates.

One Jinja `Environment` (StrictUndefined: a missing value is an error, never an empty string). Templates
receive the resolved, validated config as plain data (`render_context`); every derived value is computed
here in Python, so the templates only place values, through the `hcl` filter that writes HCL literals.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from cocusctl.core.assets import asset
from cocusctl.core.contract import require_contract
from cocusctl.core.errors import UsageError
from cocusctl.core.files import FileStatus, sync_file
from cocusctl.core.gke.chart import HELM_VALUES_FILE, HELM_VALUES_TEMPLATE, helm_inputs

if TYPE_CHECKING:
    import jinja2

    from cocusctl.core.config import Environment, LoadedConfig, RevisionSettings

# The image Terraform uses only when it first CREATES a Cloud Run service (deploy owns the image after).
BOOTSTRAP_IMAGE = "us-docker.pkg.dev/cloudrun/container/hello"

TFVARS_FILE = "terraform.tfvars"
BACKEND_FILE = "backend.hcl"


class RenderedFile(BaseModel):
    path: str
    template: str
    status: FileStatus


class RenderResult(BaseModel):
    environment: str
    target: str
    out_dir: str
    root_module: str
    check: bool
    files: list[RenderedFile]

    @property
    def changed(self) -> list[RenderedFile]:
        return [f for f in self.files if f.status != "unchanged"]


# --- HCL literals ------------------------------------------------------------------------------------------
_BARE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def hcl_literal(value: Any, indent: int = 0) -> str:
    """A Python value as an HCL expression: strings escaped (incl. `${`/`%{` templates), maps and lists."""
    pad = "  " * (indent + 1)
    end = "  " * indent
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, Path):
        return hcl_literal(str(value), indent)
    if isinstance(value, dict):
        if not value:
            return "{}"
        keys = [hcl_literal(str(k)) for k in value]
        width = max(len(k) for k in keys)
        lines = [f"{pad}{k.ljust(width)} = {hcl_literal(v, indent + 1)}" for k, v in zip(keys, value.values(), strict=True)]
        return "{\n" + "\n".join(lines) + f"\n{end}}}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        if all(not isinstance(v, dict | list | tuple) for v in value):
            return "[" + ", ".join(hcl_literal(v) for v in value) + "]"
        return "[\n" + "".join(f"{pad}{hcl_literal(v, indent + 1)},\n" for v in value) + f"{end}]"
    raise TypeError(f"cannot write {type(value).__name__} as HCL")


# GitHub Actions workflows use `${{ }}` themselves: their templates mark Jinja with <% %>, <[ ]> and <# #>.
WORKFLOW_SYNTAX: dict[str, Any] = {
    "block_start_string": "<%",
    "block_end_string": "%>",
    "variable_start_string": "<[",
    "variable_end_string": "]>",
    "comment_start_string": "<#",
    "comment_end_string": "#>",
}


@cache
def jinja_environment(templates_dir: Path | None = None, *, workflow_syntax: bool = False) -> jinja2.Environment:
    """The one Jinja environment: StrictUndefined, no autoescape (HCL and YAML, not HTML), `hcl` and `yaml`
    filters; `workflow_syntax` swaps the delimiters for templates whose output uses `{{ }}` itself."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir or asset("templates"))),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        **(WORKFLOW_SYNTAX if workflow_syntax else {}),
    )

    def hcl_filter(value: Any) -> str:
        if isinstance(value, jinja2.Undefined):
            str(value)  # StrictUndefined raises UndefinedError naming the missing value
        return hcl_literal(value)

    env.filters["hcl"] = hcl_filter
    # A JSON string is a valid double-quoted YAML scalar.
    env.filters["yaml"] = lambda value: json.dumps(str(value), ensure_ascii=False)
    # Any value (maps, lists, numbers, booleans, null) as JSON, which YAML reads as a flow value.
    env.filters["yaml_flow"] = lambda value: json.dumps(value, ensure_ascii=False)
    return env


# --- what the templates see --------------------------------------------------------------------------------
def require_infrastructure(environment: Environment) -> None:
    if not environment.settings.infrastructure:
        raise UsageError(
            f"environment {environment.name!r} has no infrastructure (infrastructure: false)",
            hint="render and plan apply to environments backed by Terraform (e.g. staging, prod)",
        )


def default_out_dir(loaded: LoadedConfig, environment: Environment) -> Path:
    return loaded.resolve_path(loaded.config.output_dir) / "render" / environment.name


def terraform_work_dir(loaded: LoadedConfig, environment: Environment) -> Path:
    """Per-environment Terraform working folder: data dir, saved plan, local state."""
    return loaded.resolve_path(loaded.config.output_dir) / "terraform" / environment.name


def root_module(loaded: LoadedConfig, environment: Environment) -> Path:
    override = environment.settings.infra.root_module
    path = loaded.resolve_path(override) if override is not None else asset("terraform") / environment.target
    if not path.is_dir():
        raise UsageError(f"Terraform root module {path} does not exist", hint="check infra.root_module")
    return path.resolve()


def artifact_repository_id(environment: Environment, service_name: str) -> str:
    configured = environment.settings.infra.artifact_registry.repository
    if configured:
        return configured
    if environment.registry.is_artifact_registry:
        # LOCATION-docker.pkg.dev/PROJECT/REPOSITORY[/...]: the repository is the second path segment.
        parts = environment.registry.repository.split("/")
        if len(parts) >= 2:
            return parts[1]
    return service_name


def render_context(loaded: LoadedConfig, environment: Environment, *, image: str | None = None) -> dict[str, Any]:
    """The resolved config as plain data, plus the values derived from it."""
    from cocusctl.core.workflows import ci_identity_inputs

    settings = environment.settings
    infra = settings.infra
    service_name = environment.service_name
    state = infra.state
    state_data: dict[str, Any] = {"backend": state.backend}
    if state.backend == "gcs":
        state_data |= {"bucket": state.bucket, "prefix": state.prefix or f"{loaded.config.project}/{environment.name}"}
    else:
        path = loaded.resolve_path(state.path) if state.path else terraform_work_dir(loaded, environment) / (
            "terraform.tfstate"
        )
        state_data["path"] = str(path.resolve())
    return {
        "environment": environment.name,
        "target": settings.target,
        "project": settings.project,
        "region": settings.region,
        "service_name": service_name,
        "image": image or BOOTSTRAP_IMAGE,
        "registry_url": environment.registry.url,
        "artifact_repository_id": artifact_repository_id(environment, service_name),
        "cluster_name": settings.gke.cluster or f"{service_name}-{environment.name}",
        "namespace": settings.gke.namespace,
        "state": state_data,
        "infra": infra.model_dump(mode="json", exclude={"root_module", "state", "lock_timeout_s"}),
        "ci": ci_identity_inputs(loaded, environment, state_data),
        "revision": revision_inputs(settings.revision),
        "gke": settings.gke.model_dump(mode="json"),
        "helm": helm_inputs(loaded, environment),
    }


def revision_inputs(revision: RevisionSettings) -> dict[str, Any]:
    """The revision model as Terraform takes it: secrets as a list of {name, env, version}, by env name."""
    data = revision.model_dump(mode="json", exclude={"secrets"})
    data["env"] = dict(sorted(revision.env.items()))
    data["secrets"] = [{"name": ref.secret, "env": env, "version": ref.version}
                       for env, ref in sorted(revision.secrets.items())]
    return data


def templates_for(environment: Environment) -> dict[str, str]:
    """Output file name -> template name: Terraform inputs where Terraform runs, Helm values for GKE."""
    templates: dict[str, str] = {}
    if environment.settings.infrastructure:
        templates[TFVARS_FILE] = f"terraform/{environment.target}.tfvars.j2"
        templates[BACKEND_FILE] = f"terraform/backend-{environment.settings.infra.state.backend}.hcl.j2"
    if environment.target == "gke":
        templates[HELM_VALUES_FILE] = HELM_VALUES_TEMPLATE
    return templates


def render_files(
    loaded: LoadedConfig,
    environment: Environment,
    *,
    image: str | None = None,
    templates_dir: Path | None = None,
) -> dict[str, tuple[str, str]]:
    """Render every template of the environment in memory: file name -> (template, text)."""
    if environment.target != "gke":
        require_infrastructure(environment)
    require_contract(loaded, environment)
    context = render_context(loaded, environment, image=image)
    return render_templates(templates_dir, templates_for(environment), context)


def render_templates(
    templates_dir: Path | None, templates: dict[str, str], context: dict[str, Any], *, workflow_syntax: bool = False
) -> dict[str, tuple[str, str]]:
    """Output name -> (template, text); a missing template or value is a UsageError naming it."""
    import jinja2

    env = jinja_environment(templates_dir, workflow_syntax=workflow_syntax)
    rendered: dict[str, tuple[str, str]] = {}
    for name, template in templates.items():
        try:
            rendered[name] = (template, env.get_template(template).render(context))
        except jinja2.TemplateNotFound as exc:
            raise UsageError(f"template {exc.name} not found under {templates_dir or asset('templates')}") from exc
        except jinja2.UndefinedError as exc:
            raise UsageError(f"template {template}: {exc.message}") from exc
    return rendered


def render_environment(
    loaded: LoadedConfig,
    environment: Environment,
    *,
    out_dir: Path | None = None,
    image: str | None = None,
    check: bool = False,
    templates_dir: Path | None = None,
) -> RenderResult:
    """Write the rendered files (or, with `check`, only compare them with what is on disk)."""
    rendered = render_files(loaded, environment, image=image, templates_dir=templates_dir)
    module = str(root_module(loaded, environment)) if environment.settings.infrastructure else ""
    out = (out_dir or default_out_dir(loaded, environment)).resolve()
    return RenderResult(
        environment=environment.name,
        target=environment.target,
        out_dir=str(out),
        root_module=module,
        check=check,
        files=write_rendered(out, rendered, check=check),
    )


def write_rendered(out: Path, rendered: dict[str, tuple[str, str]], *, check: bool) -> list[RenderedFile]:
    """Write each rendered file (relative path -> (template, text)) under `out` atomically, only when it
    changed; with `check`, write nothing and only compare with what is on disk."""
    files: list[RenderedFile] = []
    for name, (template, text) in rendered.items():
        path = out / name
        files.append(RenderedFile(path=str(path), template=template, status=sync_file(path, text, check=check)))
    return files
