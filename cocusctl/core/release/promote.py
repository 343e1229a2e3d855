"""`promote --from A --to B`: the digest serving in A, copied by digest into B's registry, deployed to B.

Target-neutral: A and B are `ReleaseTarget`s (they may even differ in target); the copy goes through the
registry adapter, so the digest B runs is byte-for-byte the one A runs (checked).
"""

from __future__ import annotations

from collections.abc import Callable

from cocusctl.core.config import Environment, LoadedConfig
from cocusctl.core.contract import require_contract
from cocusctl.core.errors import DeployError, UsageError
from cocusctl.core.images import ImageRef, RegistryApi
from cocusctl.core.infra import TerraformFactory, run_infra_phase
from cocusctl.core.quality_gate import GateRequest, prepare_gate
from cocusctl.core.release.results import PromoteResult
from cocusctl.core.release.target import ReleaseTarget, RunSettings
from cocusctl.core.reporting import Reporter


def describe_differences(a: RunSettings, b: RunSettings) -> list[str]:
    """What differs between the revision serving in A and what B will run (env, secrets, size, scaling)."""
    diffs: list[str] = []
    for k in sorted(set(a.env) | set(b.env)):
        if a.env.get(k) != b.env.get(k):
            diffs.append(f"env {k}: {a.env.get(k, '<unset>')!r} -> {b.env.get(k, '<unset>')!r}")
    for k in sorted(set(a.secrets) | set(b.secrets)):
        if a.secrets.get(k) != b.secrets.get(k):
            diffs.append(f"secret {k}: {a.secrets.get(k, '<unset>')} -> {b.secrets.get(k, '<unset>')}")
    pairs = [("memory", a.memory, b.memory), ("cpu", a.cpu, b.cpu),
             ("min_instances", a.min_instances, b.min_instances),
             ("max_instances", a.max_instances, b.max_instances),
             ("concurrency", a.concurrency, b.concurrency)]
    for name, old, new in pairs:
        if str(old) != str(new):
            diffs.append(f"{name}: {old} -> {new}")
    return diffs


def promote_environments(
    loaded: LoadedConfig, source: Environment, dest: Environment, target_for: Callable[[Environment], ReleaseTarget],
    copier: RegistryApi, reporter: Reporter, confirm: Callable[[str], bool], terraform_factory: TerraformFactory,
    *, revision: str | None = None, skip_infra: bool = False,
) -> PromoteResult:
    """`promote --from --to`: B must keep the service's settings contract; like deploy, B's infrastructure
    comes first (Terraform creates a missing service with its bootstrap image), then copy and deploy."""
    if source.name == dest.name:
        raise UsageError("--from and --to name the same environment")
    require_contract(loaded, dest)
    gate = prepare_gate(dest.settings.quality_gate, loaded.resolve_path, skip=False, reporter=reporter)
    targets = target_for(source), target_for(dest)
    infra = run_infra_phase(loaded, dest, reporter, confirm, terraform_factory, skip=skip_infra)
    result = promote(*targets, copier, reporter, revision=revision, gate=gate)
    result.deploy.infra = infra
    return result


def promote(
    source: ReleaseTarget, dest: ReleaseTarget, copier: RegistryApi, reporter: Reporter, *,
    revision: str | None = None, gate: GateRequest | None = None,
) -> PromoteResult:
    """Copy the digest serving 100 % in `source` (or `revision`) into dest's registry, then deploy it there."""
    env_a, env_b = source.environment, dest.environment
    if env_a.name == env_b.name:
        raise UsageError("--from and --to name the same environment")
    serving = source.serving(revision)
    digest = serving.image.digest
    reporter.step(f"Promoting {digest} from {env_a.name} ({serving.revision}) to {env_b.name}")
    reporter.step(f"Copying the image by digest to {env_b.registry.url}")
    copied = ImageRef.pinned(copier.copy_by_digest(serving.image.ref, env_b.registry))
    if copied.digest != digest:
        raise DeployError(f"the copy has digest {copied.digest}, expected {digest}")
    reporter.success(f"copied: {copied.ref}")
    diffs = describe_differences(serving.settings, dest.planned_settings(copied))
    for d in diffs:
        reporter.info(f"differs in {env_b.name}: {d}")
    if not diffs:
        reporter.info(f"no configuration differences between {env_a.name} and {env_b.name}")
    result = dest.deploy(copied, gate=gate)
    return PromoteResult(
        source_environment=env_a.name, target_environment=env_b.name, source_revision=serving.revision,
        digest=str(digest), source_image=serving.image.ref, target_image=copied.ref, differences=diffs,
        deploy=result,
    )
