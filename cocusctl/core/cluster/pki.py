"""The cluster's certificates: a CA, the API server's serving cert, one client cert per component.

Kubernetes 1.20 refuses the insecure port, so everything speaks TLS with client certificates. A second
CA signs only the aggregation layer's front-proxy client (the metrics APIService checks it), as kubeadm
does. Written once per cluster home; `ensure` keeps existing files so kubeconfigs stay valid.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ADMIN_USER = "cocus-admin"
AGENT_USER = "cocus-node-agent"
METRICS_SERVICE = "cocus-metrics"
METRICS_APISERVICE = "v1beta1.metrics.k8s.io"
METRICS_NAMESPACE = "kube-system"
SERVICE_IP = "10.96.0.1"
VALID_DAYS = 3650


@dataclass(frozen=True)
class Pki:
    """Paths of every credential file, under one directory."""

    dir: Path

    def crt(self, name: str) -> Path:
        return self.dir / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.dir / f"{name}.key"

    @property
    def sa_public(self) -> Path:
        return self.dir / "sa.pub"

    @property
    def sa_private(self) -> Path:
        return self.dir / "sa.key"


# name -> (common name, organisation) of each client certificate signed by the cluster CA.
CLIENTS = {
    "admin": (ADMIN_USER, "system:masters"),
    "controller-manager": ("system:kube-controller-manager", None),
    "scheduler": ("system:kube-scheduler", None),
    # The agent lists and patches objects cluster-wide (Services, EndpointSlices) besides its node's pods,
    # more than the Node authorizer grants a kubelet: it is a trusted local component.
    "node-agent": (AGENT_USER, "system:masters"),
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters"),
}


def _key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: Any) -> None:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _write_cert(path: Path, cert: Any) -> None:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _load(pki: Pki, name: str) -> tuple[Any, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(pki.crt(name).read_bytes())
    key = serialization.load_pem_private_key(pki.key(name).read_bytes(), password=None)
    return cert, key


def _issue(pki: Pki, name: str, common_name: str, *, ca: str | None, organisation: str | None = None,
           dns: tuple[str, ...] = (), ips: tuple[str, ...] = (), server: bool = False) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = _key()
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organisation:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    subject = x509.Name(attrs)
    if ca is None:
        issuer, signing_key = subject, key
    else:
        ca_cert, signing_key = _load(pki, ca)
        issuer = ca_cert.subject
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
    )
    if ca is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False), critical=True)
    else:
        usages = [ExtendedKeyUsageOID.SERVER_AUTH] if server else [ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(signing_key, hashes.SHA256())
    _write_key(pki.key(name), key)
    _write_cert(pki.crt(name), cert)


def ensure(directory: Path) -> Pki:
    """Create whatever credential is missing under `directory` (existing ones are kept)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pki = Pki(directory)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    fresh_ca = not pki.crt("ca").exists()
    if fresh_ca:
        _issue(pki, "ca", "cocus-local-ca", ca=None)
    if not pki.crt("front-proxy-ca").exists():
        _issue(pki, "front-proxy-ca", "cocus-local-front-proxy-ca", ca=None)

    def missing(name: str) -> bool:
        return fresh_ca or not pki.crt(name).exists()

    if missing("apiserver"):
        _issue(pki, "apiserver", "kube-apiserver", ca="ca", server=True,
               dns=("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local"),
               ips=("127.0.0.1", SERVICE_IP))
    if missing("node-agent-serving"):
        # The kubelet API (logs) at the node's address and the metrics APIService behind its Service name.
        _issue(pki, "node-agent-serving", "cocus-node-agent", ca="ca", server=True,
               dns=("localhost", f"{METRICS_SERVICE}.{METRICS_NAMESPACE}.svc"), ips=("127.0.0.1",))
    for name, (common_name, organisation) in CLIENTS.items():
        if missing(name):
            _issue(pki, name, common_name, ca="ca", organisation=organisation)
    if not pki.crt("front-proxy-client").exists():
        _issue(pki, "front-proxy-client", "front-proxy-client", ca="front-proxy-ca")
    if not pki.sa_private.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write_key(pki.sa_private, key)
        pki.sa_public.write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return pki
