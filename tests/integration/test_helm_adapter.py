"""The Helm adapter (pyhelm3 driving the real helm binary), without a cluster: version, rendering, errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from cocusctl.adapters.helm import Helm
from cocusctl.core.errors import NotAvailableError, ToolError

CHART = Path(__file__).resolve().parents[2] / "helm" / "cocus-mvp"
DIGEST = "sha256:" + "ab" * 32

pytestmark = pytest.mark.helm


def test_locate_checks_the_version(helm_bin: str) -> None:
    assert Helm.locate().version().startswith(("v3.", "v4."))


def test_locate_refuses_a_missing_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(NotAvailableError, match="'helm' was not found"):
        Helm.locate()


def test_values_go_on_stdin_never_on_the_command_line(helm_bin: str, caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cret-value-for-the-test"
    values = {"fullnameOverride": "rag", "api": {"image": {"repository": "r/x", "digest": DIGEST},
                                                 "secretEnv": {"COCUS_API_KEYS": secret}}}
    with caplog.at_level(logging.INFO, logger="pyhelm3"):
        text = Helm.locate().template(CHART, values, release="rag", namespace="ns", kube_version="1.20.2")
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(text) if d}
    assert docs[("HorizontalPodAutoscaler", "rag")]["apiVersion"] == "autoscaling/v2beta2"
    assert docs[("Deployment", "rag")]["spec"]["template"]["spec"]["containers"][0]["image"] == f"r/x@{DIGEST}"
    assert "<stdin>" in caplog.text and secret not in caplog.text


def test_a_refused_value_is_a_tool_error_with_helms_message(helm_bin: str) -> None:
    with pytest.raises(ToolError) as info:
        Helm.locate().template(CHART, {"api": {"image": {"repository": "r/x", "digest": "sha256:12"}}},
                               release="rag", namespace="ns")
    assert info.value.message.startswith("helm template failed:")
    assert "/api/image/digest" in info.value.message


def test_an_unreachable_cluster_is_a_missing_service(helm_bin: str, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": "https://127.0.0.1:9", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
    }))
    kubeconfig.chmod(0o600)
    with pytest.raises(NotAvailableError, match="cluster unreachable") as info:
        Helm.locate(kubeconfig=kubeconfig).history("rag", namespace="ns")
    assert info.value.exit_code == 3 and "cocusctl cluster start" in (info.value.hint or "")
