"""kubeconfig files: one for the user (credentials embedded, so it can be copied), one per component."""

from __future__ import annotations

import base64
from pathlib import Path

from cocusctl.core.cluster.pki import Pki

CLUSTER_NAME = "cocus-local"


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def render(server: str, pki: Pki, client: str, *, context: str = CLUSTER_NAME, embed: bool = True) -> dict:
    """A kubeconfig with one cluster, one user (the client cert `client`) and one context, as a dict."""
    if embed:
        cluster = {"server": server, "certificate-authority-data": _b64(pki.crt("ca"))}
        user = {"client-certificate-data": _b64(pki.crt(client)), "client-key-data": _b64(pki.key(client))}
    else:
        cluster = {"server": server, "certificate-authority": str(pki.crt("ca"))}
        user = {"client-certificate": str(pki.crt(client)), "client-key": str(pki.key(client))}
    user_name = f"{context}-{client}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": user_name, "user": user}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user_name}}],
        "current-context": context,
        "preferences": {},
    }


def write(path: Path, server: str, pki: Pki, client: str, *, context: str = CLUSTER_NAME,
          embed: bool = True) -> Path:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(render(server, pki, client, context=context, embed=embed), sort_keys=False))
    path.chmod(0o600)
    return path
