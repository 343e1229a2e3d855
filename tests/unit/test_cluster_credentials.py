"""The cluster's PKI and kubeconfigs, and the build cache lookup (no network, no compiler)."""

from __future__ import annotations

import base64
import json
import os

import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from cocusctl.core.cluster import build, kubeconfig, pki


def load(path):
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_pki_issues_every_credential_from_its_ca_and_keeps_them(tmp_path):
    credentials = pki.ensure(tmp_path / "pki")
    ca, front = load(credentials.crt("ca")), load(credentials.crt("front-proxy-ca"))
    apiserver = load(credentials.crt("apiserver"))
    apiserver.verify_directly_issued_by(ca)
    sans = apiserver.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kubernetes.default.svc" in sans.get_values_for_type(x509.DNSName)
    assert {str(i) for i in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", pki.SERVICE_IP}
    admin = load(credentials.crt("admin"))
    admin.verify_directly_issued_by(ca)
    assert admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    load(credentials.crt("front-proxy-client")).verify_directly_issued_by(front)
    serving = load(credentials.crt("node-agent-serving"))
    assert "cocus-metrics.kube-system.svc" in serving.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert credentials.key("admin").stat().st_mode & 0o777 == 0o600
    before = credentials.crt("admin").read_bytes()
    pki.ensure(tmp_path / "pki")
    assert credentials.crt("admin").read_bytes() == before


def test_kubeconfig_embeds_or_references_credentials(tmp_path):
    credentials = pki.ensure(tmp_path / "pki")
    path = kubeconfig.write(tmp_path / "kubeconfig", "https://127.0.0.1:6443", credentials, "admin")
    data = yaml.safe_load(path.read_text())
    assert data["current-context"] == "cocus-local"
    cluster = data["clusters"][0]["cluster"]
    assert cluster["server"] == "https://127.0.0.1:6443"
    assert base64.b64decode(cluster["certificate-authority-data"]) == credentials.crt("ca").read_bytes()
    assert path.stat().st_mode & 0o777 == 0o600
    by_path = kubeconfig.render("https://127.0.0.1:6443", credentials, "scheduler", embed=False)
    assert by_path["users"][0]["user"]["client-key"] == str(credentials.key("scheduler"))


def test_kubernetes_version_of_the_debian_source():
    assert build.kubernetes_version("1.20.5+really1.20.2-1.1+deb12u1") == "1.20.2"
    assert build.kubernetes_version("1:1.28.4-2") == "1.28.4"


def test_cached_build_is_the_newest_complete_one(tmp_path):
    def fake(version, built_at, complete=True):
        bin_dir = tmp_path / version / "bin"
        bin_dir.mkdir(parents=True)
        for name in build.BINARIES if complete else build.BINARIES[:1]:
            (bin_dir / name).write_text("#!/bin/sh\n")
            os.chmod(bin_dir / name, 0o755)
        (tmp_path / version / build.MANIFEST).write_text(json.dumps(
            {"debian_version": version, "kubernetes_version": build.kubernetes_version(version),
             "built_at": built_at, "build_seconds": 1}))

    assert build.cached(tmp_path) is None
    fake("1.20.5+really1.20.2-1", 100)
    fake("1.20.5+really1.20.2-2", 200)
    fake("1.20.5+really1.20.2-3", 300, complete=False)
    found = build.cached(tmp_path)
    assert found is not None and found.debian_version == "1.20.5+really1.20.2-2"
    assert found.path("kubectl") == tmp_path / "1.20.5+really1.20.2-2" / "bin" / "kubectl"
