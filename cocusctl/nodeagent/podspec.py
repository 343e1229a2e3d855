"""A Pod's container spec -> what Docker needs: environment (downward API, ConfigMaps, Secrets, `$(VAR)`),
volumes as bind mounts, resource limits, security context.

Pure functions over JSON dicts; objects the pod refers to (Secrets, ConfigMaps) come from a `lookup`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

Json = dict[str, Any]
# (kind, namespace, name) -> object or None when it does not exist.
Lookup = Callable[[str, str, str], Json | None]

_SUFFIXES = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12), "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40), "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class ConfigError(Exception):
    """The pod refers to something missing or unsupported: reported as CreateContainerConfigError."""


def quantity(value: str | int | float) -> Decimal:
    """A Kubernetes resource quantity ('250m', '512Mi', '1.5') as a number of base units."""
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match:
        raise ConfigError(f"invalid quantity {value!r}")
    return Decimal(match.group(1)) * _SUFFIXES[match.group(2) or ""]


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes `$(VAR)` references against the variables defined so far; `$$` escapes; unknown stay."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return _VAR_REF.sub(replace, text)


def _field(pod: Json, path: str) -> str:
    meta, spec, status = pod.get("metadata", {}), pod.get("spec", {}), pod.get("status", {})
    simple = {
        "metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""), "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""), "status.hostIP": status.get("hostIP", ""),
        "status.podIP": status.get("podIP", ""),
        "status.podIPs": ",".join(i.get("ip", "") for i in status.get("podIPs") or []),
    }
    if path in simple:
        return str(simple[path])
    match = re.match(r"^metadata\.(labels|annotations)\['(.+)'\]$", path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    if path in ("metadata.labels", "metadata.annotations"):
        items = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    raise ConfigError(f"unsupported fieldRef {path!r}")


def _resource_field(container: Json, ref: Json) -> str:
    resource = ref.get("resource", "")
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or name not in ("cpu", "memory", "ephemeral-storage"):
        raise ConfigError(f"unsupported resourceFieldRef {resource!r}")
    value = ((container.get("resources") or {}).get(kind) or {}).get(name)
    if value is None:
        return "0"
    divisor = quantity(ref.get("divisor") or "1")
    amount = quantity(value) / divisor
    # Like the kubelet: rounded up to a whole number of divisors.
    return str(int(amount.to_integral_value(rounding="ROUND_CEILING")))


def _data(obj: Json, kind: str) -> dict[str, str]:
    if kind == "Secret":
        return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (obj.get("data") or {}).items()}
    return dict(obj.get("data") or {})


def _key_ref(pod: Json, kind: str, ref: Json, lookup: Lookup) -> str | None:
    namespace = pod["metadata"]["namespace"]
    obj = lookup(kind, namespace, ref.get("name", ""))
    optional = bool(ref.get("optional"))
    if obj is None:
        if optional:
            return None
        raise ConfigError(f'{kind.lower()} "{ref.get("name")}" not found')
    data = _data(obj, kind)
    if ref.get("key") not in data:
        if optional:
            return None
        raise ConfigError(f'couldn\'t find key {ref.get("key")} in {kind} {namespace}/{ref.get("name")}')
    return data[ref["key"]]


def environment(pod: Json, container: Json, lookup: Lookup) -> dict[str, str]:
    """The container's environment, in the kubelet's order: envFrom, then env (later wins), `$(VAR)` expanded."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = source.get(key)
            if not ref:
                continue
            obj = lookup(kind, pod["metadata"]["namespace"], ref.get("name", ""))
            if obj is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f'{kind.lower()} "{ref.get("name")}" not found')
            for key, data in _data(obj, kind).items():
                env[prefix + key] = data
    for item in container.get("env") or []:
        name = item["name"]
        if "valueFrom" not in item:
            env[name] = expand(str(item.get("value", "")), env)
            continue
        source = item["valueFrom"]
        value: str | None = None
        if "fieldRef" in source:
            value = _field(pod, source["fieldRef"]["fieldPath"])
        elif "resourceFieldRef" in source:
            value = _resource_field(container, source["resourceFieldRef"])
        elif "secretKeyRef" in source:
            value = _key_ref(pod, "Secret", source["secretKeyRef"], lookup)
        elif "configMapKeyRef" in source:
            value = _key_ref(pod, "ConfigMap", source["configMapKeyRef"], lookup)
        else:
            raise ConfigError(f"unsupported valueFrom for {name}")
        if value is not None:
            env[name] = value
    return env


def limits(container: Json) -> tuple[int | None, int | None]:
    """(memory bytes, nano CPUs) from resources.limits."""
    resource_limits = (container.get("resources") or {}).get("limits") or {}
    memory = int(quantity(resource_limits["memory"])) if "memory" in resource_limits else None
    cpus = int(quantity(resource_limits["cpu"]) * 10**9) if "cpu" in resource_limits else None
    return memory, cpus


def _write_files(target: Path, files: dict[str, tuple[bytes, int]]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for relative, (content, mode) in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(mode)


def _projected_items(obj: Json, kind: str, source: Json, default_mode: int) -> dict[str, tuple[bytes, int]]:
    raw = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()} if kind == "Secret" else {
        k: v.encode() for k, v in (obj.get("data") or {}).items()}
    if kind == "ConfigMap":
        raw.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
    items = source.get("items")
    if not items:
        return {k: (v, default_mode) for k, v in raw.items()}
    out: dict[str, tuple[bytes, int]] = {}
    for item in items:
        if item["key"] not in raw:
            if source.get("optional"):
                continue
            raise ConfigError(f'key {item["key"]} not found in {kind.lower()} {source.get("name") or source.get("secretName")}')
        out[item["path"]] = (raw[item["key"]], int(item.get("mode", default_mode)))
    return out


def _source_files(pod: Json, kind: str, source: Json, lookup: Lookup, default_mode: int) -> dict[str, tuple[bytes, int]]:
    name = source.get("secretName") if kind == "Secret" else source.get("name")
    obj = lookup(kind, pod["metadata"]["namespace"], name or "")
    if obj is None:
        if source.get("optional"):
            return {}
        raise ConfigError(f'{kind.lower()} "{name}" not found')
    return _projected_items(obj, kind, source, default_mode)


def _downward_files(pod: Json, source: Json, default_mode: int) -> dict[str, tuple[bytes, int]]:
    files = {}
    for item in source.get("items") or []:
        if "fieldRef" not in item:
            raise ConfigError("downwardAPI volumes support fieldRef items only")
        files[item["path"]] = (_field(pod, item["fieldRef"]["fieldPath"]).encode(), int(item.get("mode", default_mode)))
    return files


def volumes(pod: Json, root: Path, lookup: Lookup) -> dict[str, tuple[Path, bool]]:
    """Materialise the pod's volumes under `root`; name -> (host path, read-only)."""
    out: dict[str, tuple[Path, bool]] = {}
    for volume in pod["spec"].get("volumes") or []:
        name = volume["name"]
        target = root / name
        if "emptyDir" in volume:
            target.mkdir(parents=True, exist_ok=True)
            target.chmod(0o777)  # as the kubelet makes it: writable by any container user
            out[name] = (target, False)
        elif "secret" in volume or "configMap" in volume:
            kind, source = ("Secret", volume["secret"]) if "secret" in volume else ("ConfigMap", volume["configMap"])
            mode = int(source.get("defaultMode", 0o644))
            _write_files(target, _source_files(pod, kind, source, lookup, mode))
            out[name] = (target, True)
        elif "downwardAPI" in volume:
            source = volume["downwardAPI"]
            _write_files(target, _downward_files(pod, source, int(source.get("defaultMode", 0o644))))
            out[name] = (target, True)
        elif "projected" in volume:
            projected = volume["projected"]
            mode = int(projected.get("defaultMode", 0o644))
            files: dict[str, tuple[bytes, int]] = {}
            for source in projected.get("sources") or []:
                if "secret" in source:
                    files.update(_source_files(pod, "Secret", source["secret"], lookup, mode))
                elif "configMap" in source:
                    files.update(_source_files(pod, "ConfigMap", source["configMap"], lookup, mode))
                elif "downwardAPI" in source:
                    files.update(_downward_files(pod, source["downwardAPI"], mode))
                else:
                    raise ConfigError(f"projected volume {name}: unsupported source {sorted(source)}")
            _write_files(target, files)
            out[name] = (target, True)
        else:
            kinds = sorted(k for k in volume if k != "name")
            raise ConfigError(f"volume {name}: type {', '.join(kinds)} is not supported by the local node")
    return out


def binds(container: Json, materialised: dict[str, tuple[Path, bool]]) -> list[str]:
    """Docker bind specs for the container's volumeMounts."""
    out = []
    for mount in container.get("volumeMounts") or []:
        if mount["name"] not in materialised:
            raise ConfigError(f'volume "{mount["name"]}" not found')
        host, read_only = materialised[mount["name"]]
        if mount.get("subPath"):
            host = host / mount["subPath"]
        mode = "ro" if read_only or mount.get("readOnly") else "rw"
        out.append(f"{host}:{mount['mountPath']}:{mode}")
    return out


def security(pod: Json, container: Json) -> dict[str, Any]:
    """Container user and groups (fsGroup and supplementalGroups as extra groups), read-only root,
    capabilities and no-new-privileges from the security contexts."""
    pod_ctx = pod["spec"].get("securityContext") or {}
    ctx = container.get("securityContext") or {}
    user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    group = ctx.get("runAsGroup", pod_ctx.get("runAsGroup"))
    caps = ctx.get("capabilities") or {}
    groups = [*pod_ctx.get("supplementalGroups", []), *([pod_ctx["fsGroup"]] if "fsGroup" in pod_ctx else [])]
    return {
        "user": None if user is None else (f"{user}:{group}" if group is not None else str(user)),
        "groups": [str(g) for g in groups],
        "run_as_non_root": bool(ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot", False))),
        "read_only": bool(ctx.get("readOnlyRootFilesystem", False)),
        "cap_add": list(caps.get("add") or []),
        "cap_drop": list(caps.get("drop") or []),
        "no_new_privileges": ctx.get("allowPrivilegeEscalation") is False,
    }
