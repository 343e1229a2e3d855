"""`cocusctl deploy`: which image, the infra phase, then the environment's target rolls it out.

The image is `--image` (pinned by digest) or the last pushed build — and the last build only when it was
made for this environment or pushed to this environment's registry: deploying another environment's
build (another registry, another project) is refused with the `build --env` that fixes it. The
environment must keep the service's settings contract (`core.contract`).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from cocusctl.core.build import LAST_BUILD_FILE
from cocusctl.core.config import Environment, LoadedConfig
from cocusctl.core.contract import require_contract
from cocusctl.core.errors import UsageError
from cocusctl.core.images import ImageRef
from cocusctl.core.infra import TerraformFactory, run_infra_phase
from cocusctl.core.quality_gate import prepare_gate
from cocusctl.core.release.results import DeployResult
from cocusctl.core.release.target import ReleaseTarget
from cocusctl.core.reporting import Reporter


def last_build_image(loaded: LoadedConfig, environment: Environment) -> ImageRef:
    """The last pushed build's reference, if it belongs to `environment`; UsageError (exit 2) otherwise."""
    path = loaded.resolve_path(loaded.config.output_dir) / LAST_BUILD_FILE
    hint = f"run `cocusctl build --env {environment.name}` first, or pass --image REGISTRY/REPO@sha256:…"
    if not path.exists():
        raise UsageError(f"no --image given and no last build at {path}", hint=hint)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        built_for = str(data.get("environment") or "")
        pushed = str(data.get("pushed_ref") or "")
    except (OSError, ValueError, AttributeError) as exc:
        raise UsageError(f"cannot read the last build record {path}: {exc}", hint=hint) from None
    if not pushed:
        raise UsageError(f"the last build ({path}) was not pushed", hint=hint)
    image = ImageRef.pinned(pushed)
    same_registry = image.name.startswith(environment.registry.url + "/")
    if built_for != environment.name and not same_registry:
        raise UsageError(
            f"the last build ({image.ref}) was made for environment {built_for or '?'!r}, not "
            f"{environment.name!r}, and is not in its registry {environment.registry.url}",
            hint=hint,
        )
    return image


def deploy(
    loaded: LoadedConfig,
    environment: Environment,
    target_for: Callable[[Environment], ReleaseTarget],
    reporter: Reporter,
    confirm: Callable[[str], bool],
    terraform_factory: TerraformFactory,
    *,
    image: str | None = None,
    strategy: str | None = None,
    skip_infra: bool = False,
    skip_quality_gate: bool = False,
) -> DeployResult:
    """Resolve the image, reach the target, run the infra phase (Terraform), then the target's release,
    whose quality gate runs the eval set on the candidate before traffic moves.

    Bad input (image reference, last build of another environment, settings the service does not read or
    lacks, unreadable eval files) fails before anything is contacted.
    """
    ref = ImageRef.pinned(image) if image is not None else last_build_image(loaded, environment)
    require_contract(loaded, environment)
    gate = prepare_gate(environment.settings.quality_gate, loaded.resolve_path, skip=skip_quality_gate,
                        reporter=reporter)
    target = target_for(environment)
    infra = run_infra_phase(loaded, environment, reporter, confirm, terraform_factory, image=ref.ref,
                            skip=skip_infra)
    result = target.deploy(ref, strategy=strategy, gate=gate)
    result.infra = infra
    return result
