"""The release commands' core: which image a deploy takes, the target interface, promote between targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocusctl.core.cloudrun.target import CloudRunTarget
from cocusctl.core.config import LoadedConfig, load_config
from cocusctl.core.errors import UsageError
from cocusctl.core.gke.target import GkeTarget
from cocusctl.core.images import ImageRef
from cocusctl.core.release.deploy import deploy, last_build_image
from cocusctl.core.release.promote import promote
from cocusctl.core.release.target import check_target, release_target
from cocusctl.core.reporting import RecordingReporter
from tests.support.memory_cloudrun import GOOD, InMemoryCloudRun

DIGEST = "sha256:" + "d" * 64


@pytest.fixture
def loaded(tmp_path: Path) -> LoadedConfig:
    (tmp_path / "cocus.yaml").write_text(
        "output_dir: out\n"
        "service: {settings_contract: none}\n"
        "environments:\n"
        "  local: {infrastructure: false, registry: {url: 127.0.0.1:5000/cocus, insecure: true}}\n"
        "  local-staging:\n"
        "    infrastructure: false\n"
        "    registry: {url: 127.0.0.1:5000/local-staging, insecure: true}\n"
        "    release: {step_pause_s: 0, smoke_query: null}\n    revision: {env: {GREETING: staging}}\n"
        "    quality_gate: {enabled: false}\n"
        "  local-prod:\n"
        "    infrastructure: false\n"
        "    registry: {url: 127.0.0.1:5000/local-prod, insecure: true}\n"
        "    release: {smoke_query: null}\n    revision: {memory: 2Gi}\n"
        "    quality_gate: {enabled: false}\n"
        "  gke-dev: {target: gke, infrastructure: false}\n"
    )
    return load_config(tmp_path / "cocus.yaml", environ={})


def write_last_build(loaded: LoadedConfig, environment: str, image: str) -> None:
    out = loaded.root / "out"
    out.mkdir(exist_ok=True)
    (out / "last-build.json").write_text(json.dumps({"environment": environment, "image": image,
                                                     "pushed_ref": f"{image}@{DIGEST}", "digest": DIGEST}))


def test_last_build_of_the_same_environment_is_taken(loaded: LoadedConfig) -> None:
    write_last_build(loaded, "local-staging", "127.0.0.1:5000/local-staging/cocus-rag")
    image = last_build_image(loaded, loaded.environment("local-staging"))
    assert image.ref == f"127.0.0.1:5000/local-staging/cocus-rag@{DIGEST}"


def test_last_build_in_the_environments_registry_is_taken(loaded: LoadedConfig) -> None:
    write_last_build(loaded, "someone-elses-name", "127.0.0.1:5000/local-staging/cocus-rag")
    assert last_build_image(loaded, loaded.environment("local-staging")).digest == DIGEST


def test_last_build_of_another_environment_and_registry_is_refused(loaded: LoadedConfig) -> None:
    write_last_build(loaded, "local", "127.0.0.1:5000/cocus/cocus-rag")
    with pytest.raises(UsageError) as info:
        last_build_image(loaded, loaded.environment("local-staging"))
    assert info.value.exit_code == 2
    assert str(info.value) == (
        f"the last build (127.0.0.1:5000/cocus/cocus-rag@{DIGEST}) was made for environment 'local', not "
        "'local-staging', and is not in its registry 127.0.0.1:5000/local-staging"
    )
    assert info.value.hint is not None and "cocusctl build --env local-staging" in info.value.hint


def test_no_last_build_names_the_build_command(loaded: LoadedConfig) -> None:
    with pytest.raises(UsageError, match="no --image given and no last build") as info:
        last_build_image(loaded, loaded.environment("local-prod"))
    assert info.value.hint is not None and "cocusctl build --env local-prod" in info.value.hint


def test_deploy_attaches_the_typed_infra_result(loaded: LoadedConfig) -> None:
    api = InMemoryCloudRun()
    environment = loaded.environment("local-staging")
    target = CloudRunTarget(environment, api, RecordingReporter(), sleep=lambda s: None, environ={})
    result = deploy(loaded, environment, lambda env: target, RecordingReporter(), lambda q: False,
                    lambda *a, **k: pytest.fail("no terraform for infrastructure: false"), image=GOOD)
    assert result.infra is not None and result.infra.skipped and result.infra.describe() == (
        "skipped (infrastructure: false)")
    assert result.model_dump(mode="json")["infra"]["reason"] == "infrastructure: false"


def test_a_bad_image_fails_before_the_target_is_reached(loaded: LoadedConfig) -> None:
    with pytest.raises(UsageError, match="malformed image reference"):
        deploy(loaded, loaded.environment("local-staging"), lambda env: pytest.fail("target reached"),
               RecordingReporter(), lambda q: True, lambda *a, **k: pytest.fail("terraform reached"), image="x:1")


def test_targets_are_chosen_by_the_environment(loaded: LoadedConfig) -> None:
    class Factory:
        def cloudrun(self, environment):  # noqa: ANN001, ANN202
            return InMemoryCloudRun()

        def registry(self, registry):  # noqa: ANN001, ANN202
            raise AssertionError

        def terraform(self, workdir, data_dir=None):  # noqa: ANN001, ANN202
            raise AssertionError

        def prometheus(self, url):  # noqa: ANN001, ANN202
            raise AssertionError

        loaded = None

        def helm(self, environment):  # noqa: ANN001, ANN202
            return "helm of " + environment.name

        def cluster(self, environment):  # noqa: ANN001, ANN202
            return "cluster of " + environment.name

        def local_secret(self, environment):  # noqa: ANN001, ANN202
            raise AssertionError("gke-dev is not a local cluster")

    target = release_target(loaded.environment("local-staging"), Factory(), RecordingReporter())
    assert isinstance(target, CloudRunTarget) and target.service == "cocus-rag"
    gke = release_target(loaded.environment("gke-dev"), Factory(), RecordingReporter())
    assert isinstance(gke, GkeTarget) and gke.helm == "helm of gke-dev" and gke.cluster == "cluster of gke-dev"
    assert gke.read_secret is None
    check_target(loaded.environment("gke-dev"), "gke")
    with pytest.raises(UsageError, match="--target cloudrun does not match environment 'gke-dev'"):
        check_target(loaded.environment("gke-dev"), "cloudrun")


class Copier:
    """Copies by digest within the same registry host, as the registry adapter does."""

    def __init__(self) -> None:
        self.copies: list[tuple[str, str]] = []

    def copy_by_digest(self, src_ref, dst_registry, image=None):  # noqa: ANN001, ANN201
        src = ImageRef.pinned(src_ref)
        self.copies.append((src_ref, dst_registry.url))
        return f"{dst_registry.url}/{src.repository.rsplit('/', 1)[-1]}@{src.digest}"


def test_promote_copies_the_serving_digest_and_deploys_it_to_b(loaded: LoadedConfig) -> None:
    reporter = RecordingReporter()
    a = CloudRunTarget(loaded.environment("local-staging"), InMemoryCloudRun(), reporter, sleep=lambda s: None,
                       environ={})
    b = CloudRunTarget(loaded.environment("local-prod"), InMemoryCloudRun(), reporter, sleep=lambda s: None,
                       environ={})
    served = a.deploy(ImageRef.pinned(GOOD))
    copier = Copier()
    result = promote(a, b, copier, reporter)  # type: ignore[arg-type]
    assert copier.copies == [(GOOD, "127.0.0.1:5000/local-prod")]
    assert result.source_revision == served.revision and result.digest == ImageRef.pinned(GOOD).digest
    assert result.target_image == f"127.0.0.1:5000/local-prod/app@{result.digest}"
    assert result.deploy.environment == "local-prod" and result.deploy.created
    assert result.differences == ["env GREETING: 'staging' -> '<unset>'", "memory: 1Gi -> 2Gi"]


def test_promote_to_the_same_environment_is_refused(loaded: LoadedConfig) -> None:
    a = CloudRunTarget(loaded.environment("local-staging"), InMemoryCloudRun(), RecordingReporter())
    with pytest.raises(UsageError, match="--from and --to name the same environment"):
        promote(a, a, Copier(), RecordingReporter())  # type: ignore[arg-type]
