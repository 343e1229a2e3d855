"""The whole local loop through the CLI: emulator → deploy (from the last build) → query → canary →
promote by digest → status → rollback → emulator stop. Real containers, real registry, 127.0.0.1 only."""

from __future__ import annotations

import json
import urllib.request

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]


def _ok(res) -> dict:
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "ok" and doc["exit_code"] == 0
    return doc["data"]


def _query(url: str) -> dict:
    req = urllib.request.Request(url + "/v1/query", data=b'{"question": "why?"}', method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - 127.0.0.1 only
        assert resp.status == 200
        return json.loads(resp.read())


def _manifest_exists(registry: str, repo: str, digest: str) -> bool:
    req = urllib.request.Request(f"http://{registry}/v2/{repo}/manifests/{digest}", method="HEAD", headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            return resp.status == 200 and resp.headers["Docker-Content-Digest"] == digest
    except urllib.error.HTTPError:
        return False


def test_local_release_loop(tmp_path, monkeypatch, docker_engine, local_registry, base_image):
    from tests.support.cloudrun import build_test_image, write_config

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    v1, v2, v3 = (build_test_image(v, registry=local_registry, repo="local-staging/cocus-rag")
                  for v in ("v1", "v2", "v3"))
    home = ["--home", str(tmp_path / "emu")]
    emu = _ok(runner.invoke(app, ["emulator", "start", "--port", "0", "-o", "json", *home]))
    try:
        config = tmp_path / "cocus.yaml"
        write_config(config, emu["endpoint"], service="cocus-rag", registry=local_registry,
                     strategy="canary", canary_steps=[50, 100])

        def cli(*args: str) -> dict:
            return _ok(runner.invoke(app, ["--config", str(config), *args, "-o", "json"]))

        # `cocusctl build` leaves its result here; deploy uses it when --image is not given.
        out = tmp_path / "build" / "cocus"
        out.mkdir(parents=True)
        (out / "last-build.json").write_text(json.dumps({"environment": "local-staging", "image": v1.tag,
                                                         "pushed_ref": v1.ref, "digest": v1.digest}))
        first = cli("deploy", "--env", "local-staging", "--target", "cloudrun")
        assert (first["digest"], first["created"]) == (v1.digest, True)
        assert first["infra"] == {"environment": "local-staging", "skipped": True, "reason": "infrastructure: false",
                                  "plan": None, "applied": False, "outputs": {}}
        assert _query(first["url"])["revision"] == first["revision"]

        second = cli("deploy", "--env", "local-staging", "--image", v2.ref)
        assert second["steps"] == ["candidate", "smoke", "50", "100"]

        promoted = cli("promote", "--from", "local-staging", "--to", "local-prod")
        assert promoted["digest"] == v2.digest
        assert promoted["target_image"] == f"{local_registry}/local-prod/cocus-rag@{v2.digest}"
        assert _manifest_exists(local_registry, "local-prod/cocus-rag", v2.digest)
        assert promoted["deploy"]["created"] is True
        assert promoted["deploy"]["infra"]["skipped"] is True
        assert promoted["deploy"]["infra"]["reason"] == "infrastructure: false"
        prod_url = promoted["deploy"]["url"]
        assert prod_url != second["url"]  # another project, another service
        assert _query(prod_url)["revision"] == promoted["deploy"]["revision"]

        cli("deploy", "--env", "local-staging", "--image", v3.ref)
        promoted3 = cli("promote", "--from", "local-staging", "--to", "local-prod")
        assert promoted3["deploy"]["traffic_before"][0]["revision"] == promoted["deploy"]["revision"]

        status = cli("status", "--env", "local-prod")
        assert set(status) >= {"schema_version", "environment", "target", "service", "exists", "url", "ready",
                               "conditions", "revisions", "traffic"}
        assert status["ready"] is True and status["url"] == prod_url
        serving = {r["name"]: r["percent"] for r in status["revisions"] if r["percent"]}
        assert serving == {promoted3["deploy"]["revision"]: 100}
        assert all(r["digest"] in (v2.digest, v3.digest) for r in status["revisions"])

        rolled = cli("rollback", "--env", "local-prod")
        assert [(r["revision"], r["percent"]) for r in rolled["traffic_after"] if r["percent"]] == [
            (promoted["deploy"]["revision"], 100)]
        assert _query(prod_url)["revision"] == promoted["deploy"]["revision"]
        assert cli("status", "--env", "local-staging")["revisions"][0]["digest"] == v3.digest
    finally:
        stopped = _ok(runner.invoke(app, ["emulator", "stop", "-o", "json", *home]))
        assert stopped["stopped"] is True
    from cocusctl.emulator.server import instance_id

    mine = f"cocus.emulator.instance={instance_id(tmp_path / 'emu' / 'state')}"
    assert docker_engine.containers.list(all=True, filters={"label": mine}) == []
