"""Pod spec -> container settings: quantities, `$(VAR)`, downward API, Secrets/ConfigMaps, volumes, security."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from cocusctl.nodeagent import podspec

POD = {
    "metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1", "labels": {"app": "web"},
                 "annotations": {"team": "rag"}},
    "spec": {"nodeName": "cocus-node", "serviceAccountName": "default",
             "securityContext": {"runAsUser": 10001, "runAsNonRoot": True},
             "volumes": [{"name": "scratch", "emptyDir": {}},
                         {"name": "settings", "configMap": {"name": "cfg", "items": [{"key": "a", "path": "a.txt"}]}},
                         {"name": "creds", "secret": {"secretName": "sec", "defaultMode": 0o400}}]},
    "status": {"podIP": "127.10.0.7", "hostIP": "127.0.0.1"},
}
OBJECTS = {
    ("ConfigMap", "shop", "cfg"): {"data": {"a": "alpha", "b": "beta"}},
    ("Secret", "shop", "sec"): {"data": {"token": base64.b64encode(b"s3cret").decode()}},
}


def lookup(kind: str, namespace: str, name: str):
    return OBJECTS.get((kind, namespace, name))


@pytest.mark.parametrize(("text", "value"), [
    ("250m", Decimal("0.25")), ("2", Decimal(2)), ("512Mi", Decimal(512 * 2**20)), ("1G", Decimal(10**9)),
    ("100n", Decimal("1E-7")), ("1.5", Decimal("1.5")),
])
def test_quantities(text, value):
    assert podspec.quantity(text) == value


def test_invalid_quantity_is_a_config_error():
    with pytest.raises(podspec.ConfigError, match="invalid quantity"):
        podspec.quantity("lots")


def test_var_references_expand_like_the_kubelet():
    env = {"HOST": "127.10.0.7"}
    assert podspec.expand("http://$(HOST):8080/$(MISSING)", env) == "http://127.10.0.7:8080/$(MISSING)"
    assert podspec.expand("$$(HOST)", env) == "$(HOST)"


def test_environment_downward_api_refs_and_order():
    container = {
        "name": "app",
        "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
        "env": [
            {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "URL", "value": "http://$(HOST):8080"},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "token"}}},
            {"name": "OPT", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "x", "optional": True}}},
            {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
        ],
        "resources": {"limits": {"memory": "128Mi", "cpu": "500m"}},
    }
    env = podspec.environment(POD, container, lookup)
    assert env == {"CFG_a": "alpha", "CFG_b": "beta", "HOST": "127.10.0.7", "POD": "web-1", "NS": "shop",
                   "APP": "web", "URL": "http://127.10.0.7:8080", "TOKEN": "s3cret", "MEM": "128"}
    assert podspec.limits(container) == (128 * 2**20, 500_000_000)


def test_missing_secret_is_a_config_error():
    container = {"name": "app", "env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k"}}}]}
    with pytest.raises(podspec.ConfigError, match='secret "nope" not found'):
        podspec.environment(POD, container, lookup)


def test_volumes_are_materialised_and_mounted(tmp_path):
    made = podspec.volumes(POD, tmp_path, lookup)
    assert (tmp_path / "settings" / "a.txt").read_text() == "alpha"
    assert not (tmp_path / "settings" / "b").exists()
    assert (tmp_path / "creds" / "token").read_bytes() == b"s3cret"
    assert (tmp_path / "creds" / "token").stat().st_mode & 0o777 == 0o400
    assert (tmp_path / "scratch").stat().st_mode & 0o777 == 0o777
    container = {"volumeMounts": [{"name": "scratch", "mountPath": "/tmp"},
                                  {"name": "creds", "mountPath": "/var/run/creds"}]}
    assert podspec.binds(container, made) == [f"{tmp_path / 'scratch'}:/tmp:rw",
                                              f"{tmp_path / 'creds'}:/var/run/creds:ro"]


def test_unsupported_volume_type_is_named(tmp_path):
    pod = {**POD, "spec": {**POD["spec"], "volumes": [{"name": "disk", "persistentVolumeClaim": {"claimName": "d"}}]}}
    with pytest.raises(podspec.ConfigError, match="persistentVolumeClaim is not supported"):
        podspec.volumes(pod, tmp_path, lookup)


def test_security_context_merges_pod_and_container():
    container = {"securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                     "capabilities": {"drop": ["ALL"]}}}
    assert podspec.security(POD, container) == {
        "user": "10001", "groups": [], "run_as_non_root": True, "read_only": True, "cap_add": [], "cap_drop": ["ALL"],
        "no_new_privileges": True,
    }


def test_fs_group_and_supplemental_groups_become_extra_groups():
    pod = {"spec": {"securityContext": {"runAsUser": 999, "runAsGroup": 999, "fsGroup": 2000,
                                        "supplementalGroups": [3000]}}}
    settings = podspec.security(pod, {})
    assert (settings["user"], settings["groups"]) == ("999:999", ["3000", "2000"])
