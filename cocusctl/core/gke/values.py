"""The Helm values of each state a release passes through, and revision names.

A release's values are the environment's chart values (rendered from cocus.yaml) with `api` (what the stable
track runs) and `canary` (the candidate beside it, or off). The same inputs always give the same values, so
comparing them with what the deployed Helm revision was installed with tells whether a deploy changes anything.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

Values = dict[str, Any]


def revision_name(service: str, api: Mapping[str, Any]) -> str:
    """`SERVICE-<digest 7>-<settings 4>`: the same image with the same settings is the same revision."""
    digest = str(api["image"].get("digest") or "").removeprefix("sha256:")
    settings = {k: v for k, v in api.items() if k not in ("revision", "image")}
    settings["repository"] = api["image"]["repository"]
    if not digest:
        digest = hashlib.sha256(json.dumps(api["image"], sort_keys=True).encode()).hexdigest()
    config = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    return f"{service[:50]}-{digest[:7]}-{config[:4]}"


def with_revision(service: str, api: Mapping[str, Any]) -> Values:
    """`api` with its `revision` set from its image and settings."""
    named = copy.deepcopy(dict(api))
    named["revision"] = revision_name(service, named)
    return named


def stable_values(base: Mapping[str, Any], api: Mapping[str, Any]) -> Values:
    """All traffic on `api`; no canary."""
    values = copy.deepcopy(dict(base))
    values["api"] = copy.deepcopy(dict(api))
    values["canary"] = {"enabled": False}
    return values


def canary_values(base: Mapping[str, Any], stable: Mapping[str, Any], candidate: Mapping[str, Any], *,
                  replicas: int, weight: int, serving: bool = True) -> Values:
    """`stable` keeps its pods; `candidate` runs `replicas` pods beside it (and `weight` % with a gateway);
    `serving=False`: the candidate's pods take no user traffic (reached through its own Service only)."""
    values = stable_values(base, stable)
    values["canary"] = {"enabled": True, "replicas": replicas, "serving": serving,
                        "api": copy.deepcopy(dict(candidate))}
    if (values.get("gateway") or {}).get("enabled"):
        values["gateway"] = {**values["gateway"], "canaryWeight": weight}
    return values


def uses_gateway(values: Mapping[str, Any]) -> bool:
    return bool((values.get("gateway") or {}).get("enabled"))


def stable_api(values: Mapping[str, Any]) -> Values:
    return dict(values.get("api") or {})


def canary_api(values: Mapping[str, Any]) -> Values | None:
    """The candidate's full settings (api with canary.api's keys replacing it), or None without a canary."""
    canary = values.get("canary") or {}
    if not canary.get("enabled"):
        return None
    return {**stable_api(values), **(canary.get("api") or {})}


def image_ref(api: Mapping[str, Any]) -> str:
    image = api.get("image") or {}
    if image.get("digest"):
        return f"{image['repository']}@{image['digest']}"
    return f"{image.get('repository', '')}:{image.get('tag', '')}"
