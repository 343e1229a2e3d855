"""The cocus-mvp chart with the real helm and trivy: lint, render for Kubernetes 1.20 and 1.31, schema, policy.

Render checks read the manifests helm produces; the probe paths and the drain time are taken from the service
itself, so the chart cannot drift from what the API serves.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "cocus-mvp"
VALUE_SETS = {
    "defaults": [],
    "gke": [CHART / "ci" / "gke-values.yaml"],
    "cert-manager": [CHART / "ci" / "cert-manager-values.yaml"],
    # What `cocusctl render --env prod-gke` writes (the golden file), with the digest deploy adds.
    "rendered-prod-gke": [REPO / "tests" / "golden" / "render" / "prod-gke" / "helm-values.yaml",
                          CHART / "ci" / "digest-values.yaml"],
}
KUBE_VERSIONS = {"1.20.2": ("autoscaling/v2beta2", "policy/v1beta1"), "1.31.0": ("autoscaling/v2", "policy/v1")}

pytestmark = pytest.mark.helm


def helm(helm_bin: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([helm_bin, *args], capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def render(helm_bin: str, *args: str, kube_version: str = "1.31.0") -> list[dict[str, Any]]:
    proc = helm(helm_bin, "template", "cocus-rag", str(CHART), "--kube-version", kube_version, *args)
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def values_args(files: list[Path]) -> list[str]:
    return [arg for f in files for arg in ("--values", str(f))]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


@pytest.mark.parametrize("name", VALUE_SETS)
def test_lint_is_clean(helm_bin: str, name: str) -> None:
    proc = helm(helm_bin, "lint", "--strict", str(CHART), *values_args(VALUE_SETS[name]))
    assert "0 chart(s) failed" in proc.stdout
    assert "[WARNING]" not in proc.stdout and "[ERROR]" not in proc.stdout, proc.stdout


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("name", VALUE_SETS)
def test_renders_for_each_kubernetes_version_with_its_api_versions(helm_bin: str, name: str, kube_version: str) -> None:
    docs = render(helm_bin, *values_args(VALUE_SETS[name]), kube_version=kube_version)
    hpa_api, pdb_api = KUBE_VERSIONS[kube_version]
    kinds = {d["kind"]: d["apiVersion"] for d in docs}
    assert kinds["PodDisruptionBudget"] == pdb_api
    if name != "cert-manager":  # autoscaling is off there
        assert kinds["HorizontalPodAutoscaler"] == hpa_api
    else:
        assert "HorizontalPodAutoscaler" not in kinds
    assert {"Deployment", "Service", "ConfigMap", "ServiceAccount", "NetworkPolicy"} <= kinds.keys()


def test_api_deployment_matches_the_service(helm_bin: str) -> None:
    from cocus_rag.api.routes.health import router
    from cocus_rag.config import Settings

    served = {route.path for route in router.routes}  # type: ignore[attr-defined]
    docs = render(helm_bin, "--set", "fullnameOverride=cocus-rag")
    deployment = one(docs, "Deployment", "cocus-rag")
    spec = deployment["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    assert spec["replicas"] == 2  # a first install starts at the HPA's minimum; later ones keep the HPA's count
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["startupProbe"]["httpGet"]["path"] == "/readyz" in served
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz" in served
    env = {e["name"]: e.get("value") for e in container["env"]}
    drain = float(env["COCUS_GRACEFUL_TIMEOUT"])
    assert drain == Settings.model_fields["graceful_timeout"].default
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pod["terminationGracePeriodSeconds"] >= pre_stop + drain
    assert container["resources"]["requests"] and container["resources"]["limits"]
    security = container["securityContext"]
    assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
    assert security["allowPrivilegeEscalation"] is False and security["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's USER
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} == {
        "topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    assert pod["automountServiceAccountToken"] is False


def test_canary_runs_beside_stable_behind_one_service(helm_bin: str) -> None:
    docs = render(helm_bin, *values_args(VALUE_SETS["gke"]))
    stable, canary = one(docs, "Deployment", "cocus-rag"), one(docs, "Deployment", "cocus-rag-canary")
    assert canary["spec"]["replicas"] == 1
    images = {d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"] for d in (stable, canary)}
    assert images["cocus-rag"].endswith("@sha256:" + "0123456789abcdef" * 4)
    assert images["cocus-rag-canary"].endswith("@sha256:" + "fedcba9876543210" * 4)
    labels = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"] for d in (stable, canary)}
    assert labels["cocus-rag-canary"]["cocus.dev/revision"] == "cocus-rag-fedcba9-1234"
    selector = one(docs, "Service", "cocus-rag")["spec"]["selector"]
    for pod_labels in labels.values():  # the Service selects both tracks
        assert selector.items() <= pod_labels.items()
    # The canary inherits what it does not override, each track with its own ConfigMap and secrets.
    assert one(docs, "ConfigMap", "cocus-rag-canary")["data"] == one(docs, "ConfigMap", "cocus-rag")["data"]
    spc = one(docs, "SecretProviderClass", "cocus-rag-canary")
    assert "projects/acme-cocus-prod/secrets/cocus-rag-api-keys/versions/3" in spc["spec"]["parameters"]["secrets"]
    # Only the stable Deployment is autoscaled and covered by the disruption budget.
    assert one(docs, "HorizontalPodAutoscaler", "cocus-rag")["spec"]["scaleTargetRef"]["name"] == "cocus-rag"
    assert one(docs, "PodDisruptionBudget", "cocus-rag")["spec"]["selector"]["matchLabels"]["cocus.dev/track"] == "stable"


def test_a_candidate_under_the_gate_is_reached_through_its_own_service_only(helm_bin: str) -> None:
    """canary.serving=false: the release's Service (and the Gateway's canary backend) selects serving pods only;
    NAME-candidate selects every canary pod and is never routed by the Ingress or the Gateway."""
    docs = render(helm_bin, *values_args(VALUE_SETS["gke"]), "--set", "canary.serving=false")
    pods = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
            for d in (one(docs, "Deployment", "cocus-rag"), one(docs, "Deployment", "cocus-rag-canary"))}
    assert pods["cocus-rag"]["cocus.dev/serving"] == "true" and pods["cocus-rag-canary"]["cocus.dev/serving"] == "false"

    def selects(service: str) -> set[str]:
        selector = one(docs, "Service", service)["spec"]["selector"]
        return {name for name, labels in pods.items() if selector.items() <= labels.items()}

    assert selects("cocus-rag") == selects("cocus-rag-stable") == {"cocus-rag"}
    assert selects("cocus-rag-canary") == set()
    assert selects("cocus-rag-candidate") == {"cocus-rag-canary"}
    assert one(docs, "Service", "cocus-rag-candidate")["spec"]["type"] == "ClusterIP"
    backends = {p["backend"]["service"]["name"] for rule in one(docs, "Ingress", "cocus-rag")["spec"]["rules"]
                for p in rule["http"]["paths"]}
    routed = {b["name"] for b in one(docs, "HTTPRoute", "cocus-rag")["spec"]["rules"][0]["backendRefs"]}
    assert "cocus-rag-candidate" not in backends | routed
    # Once the gate passed (serving, the default), the canary's pods join the release's Service.
    docs = render(helm_bin, *values_args(VALUE_SETS["gke"]))
    canary = one(docs, "Deployment", "cocus-rag-canary")["spec"]["template"]["metadata"]["labels"]
    assert one(docs, "Service", "cocus-rag")["spec"]["selector"].items() <= canary.items()
    docs = render(helm_bin, "--set", "fullnameOverride=cocus-rag")  # no canary: no candidate Service
    assert not [d for d in docs if d["metadata"]["name"] == "cocus-rag-candidate"]


def test_gateway_route_weights_follow_the_canary(helm_bin: str) -> None:
    docs = render(helm_bin, *values_args(VALUE_SETS["gke"]), "--set", "gateway.canaryWeight=25")
    route = one(docs, "HTTPRoute", "cocus-rag")
    weights = {b["name"]: b["weight"] for b in route["spec"]["rules"][0]["backendRefs"]}
    assert weights == {"cocus-rag-stable": 75, "cocus-rag-canary": 25}
    assert route["spec"]["parentRefs"] == [{"name": "external-http", "namespace": "gateway-system"}]
    docs = render(helm_bin, *values_args(VALUE_SETS["gke"]), "--set", "canary.enabled=false")
    weights = {b["name"]: b["weight"] for b in one(docs, "HTTPRoute", "cocus-rag")["spec"]["rules"][0]["backendRefs"]}
    assert weights == {"cocus-rag-stable": 100}


def test_gke_ingress_tls_workload_identity_and_secret_manager(helm_bin: str) -> None:
    docs = render(helm_bin, *values_args(VALUE_SETS["gke"]))
    ingress = one(docs, "Ingress", "cocus-rag")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["kubernetes.io/ingress.class"] == "gce"
    assert annotations["networking.gke.io/managed-certificates"] == "cocus-rag"
    assert annotations["kubernetes.io/ingress.global-static-ip-name"] == "cocus-rag-prod"
    paths = {p["path"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert "/metrics" not in paths and "/v1" in paths
    assert one(docs, "ManagedCertificate", "cocus-rag")["spec"]["domains"] == ["rag.acme.example"]
    service = one(docs, "Service", "cocus-rag")["metadata"]["annotations"]
    assert json.loads(service["cloud.google.com/backend-config"]) == {"default": "cocus-rag"}
    assert one(docs, "BackendConfig", "cocus-rag")["spec"]["healthCheck"]["requestPath"] == "/readyz"
    sa = one(docs, "ServiceAccount", "cocus-rag")
    assert sa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] == (
        "cocus-rag-prod@acme-cocus-prod.iam.gserviceaccount.com")
    container = one(docs, "Deployment", "cocus-rag")["spec"]["template"]["spec"]["containers"][0]
    keys = [e for e in container["env"] if e["name"] == "COCUS_API_KEYS"]
    assert keys[0]["valueFrom"]["secretKeyRef"] == {"name": "cocus-rag-sm", "key": "COCUS_API_KEYS"}
    assert not [d for d in docs if d["kind"] == "Secret"]  # secret values never pass through the chart


def test_cert_manager_ingress_and_kubernetes_secret(helm_bin: str) -> None:
    docs = render(helm_bin, *values_args(VALUE_SETS["cert-manager"]))
    ingress = one(docs, "Ingress", "cocus-rag")
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["rag.acme.example"], "secretName": "cocus-rag-tls"}]
    assert not [d for d in docs if d["kind"] in ("ManagedCertificate", "BackendConfig", "FrontendConfig")]
    assert one(docs, "Deployment", "cocus-rag")["spec"]["replicas"] == 2
    secret = one(docs, "Secret", "cocus-rag-env")
    assert set(secret["data"]) == {"COCUS_API_KEYS"}


def test_prometheus_and_grafana_take_rules_and_dashboards_from_observability(helm_bin: str) -> None:
    """One source: the chart links observability/, the files Terraform and local monitoring read too."""
    observability = REPO / "observability"
    docs = render(helm_bin, *values_args(VALUE_SETS["gke"]))
    rules = one(docs, "ConfigMap", "cocus-rag-prometheus-rules")["data"]
    assert rules == {"cocus-rag.rules.yaml": (observability / "prometheus" / "cocus-rag.rules.yaml").read_text()}
    dashboards = one(docs, "ConfigMap", "cocus-rag-grafana-dashboards")["data"]
    expected = {p.name: p.read_text() for p in (observability / "grafana").glob("*.json")}
    assert len(expected) >= 2 and {k: json.loads(v) for k, v in dashboards.items()} == {
        k: json.loads(v) for k, v in expected.items()}
    scrape = yaml.safe_load(one(docs, "ConfigMap", "cocus-rag-prometheus")["data"]["prometheus.yml"])
    slo = yaml.safe_load((observability / "slo.yaml").read_text())
    assert scrape["scrape_configs"][0]["job_name"] == slo["scrape_job"]
    # The rules aggregate by namespace, service and revision: the scrape sets all three.
    targets = {r.get("target_label") for r in scrape["scrape_configs"][0]["relabel_configs"]}
    assert {"namespace", "service", "revision"} <= targets


def test_metrics_on_their_own_port_reach_prometheus_only(helm_bin: str) -> None:
    docs = render(helm_bin, *values_args(VALUE_SETS["gke"]), "--set", "metricsPort=9464")
    container = one(docs, "Deployment", "cocus-rag")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "COCUS_METRICS_PORT", "value": "9464"} in container["env"]
    assert {"name": "metrics", "containerPort": 9464, "protocol": "TCP"} in container["ports"]
    rules = one(docs, "NetworkPolicy", "cocus-rag")["spec"]["ingress"]
    metrics_rule = [r for r in rules if r["ports"][0]["port"] == "metrics"]
    assert metrics_rule[0]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "prometheus"
    scrape = yaml.safe_load(one(docs, "ConfigMap", "cocus-rag-prometheus")["data"]["prometheus.yml"])
    keep = {r["source_labels"][0]: r["regex"] for r in scrape["scrape_configs"][0]["relabel_configs"]
            if r.get("action") == "keep"}
    assert keep["__meta_kubernetes_pod_container_port_name"] == "metrics"


def test_optional_components_are_wired_to_each_other(helm_bin: str) -> None:
    docs = render(helm_bin, *values_args(VALUE_SETS["gke"]))
    api_env = {e["name"]: e for e in one(docs, "Deployment", "cocus-rag")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert api_env["REDIS_URL"]["value"] == "redis://:$(REDIS_PASSWORD)@cocus-rag-redis:6379/0"
    redis = one(docs, "Deployment", "cocus-rag-redis")["spec"]["template"]["spec"]["containers"][0]
    assert "requirepass" in redis["args"][0] and "REDIS_PASSWORD" not in " ".join(redis.get("command", []))
    prometheus = yaml.safe_load(one(docs, "ConfigMap", "cocus-rag-prometheus")["data"]["prometheus.yml"])
    (job,) = prometheus["scrape_configs"]
    assert job["job_name"] == "cocus-rag"
    keep = {r["source_labels"][0]: r["regex"] for r in job["relabel_configs"] if r.get("action") == "keep"}
    assert keep["__meta_kubernetes_pod_label_app_kubernetes_io_component"] == "api"
    datasources = yaml.safe_load(one(docs, "ConfigMap", "cocus-rag-grafana-provisioning")["data"]["datasources.yaml"])
    assert datasources["datasources"][0]["url"] == "http://cocus-rag-prometheus:9090"
    policies = {d["metadata"]["name"] for d in docs if d["kind"] == "NetworkPolicy"}
    assert policies == {"cocus-rag", "cocus-rag-redis", "cocus-rag-prometheus", "cocus-rag-grafana"}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (["--set", "api.image.digest=sha256:abc"], "does not match pattern"),
        (["--set", "replicas=3"], "additional properties 'replicas' not allowed"),
        (["--set", "securityContext.allowPrivilegeEscalation=true"], "allowPrivilegeEscalation"),
        (["--set", "ingress.enabled=true"], "ingress.hosts must name at least one host"),
        (["--set", "grafana.enabled=true"], "grafana.adminSecret is required"),
        (["--set", "secrets.provider=vault"], "secrets/provider"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(helm_bin: str, override: list[str], message: str) -> None:
    proc = helm(helm_bin, "template", "x", str(CHART), *override, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


@pytest.mark.trivy
@pytest.mark.parametrize("name", VALUE_SETS)
def test_policy_scan_has_no_high_or_critical_findings(trivy_bin: str, helm_bin: str, tmp_path: Path, name: str) -> None:
    argv = [trivy_bin, "config", "--quiet", "--skip-check-update", "--cache-dir", str(tmp_path / "cache"),
            "--format", "json", "--include-non-failures"]
    for values in VALUE_SETS[name]:
        argv += ["--helm-values", str(values)]
    proc = subprocess.run([*argv, str(CHART)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = [m for r in json.loads(proc.stdout).get("Results") or [] for m in r.get("Misconfigurations") or []]
    assert len([m for m in results if m["Status"] == "PASS"]) > 50  # the chart really was rendered and checked
    blocking = [f"{m['ID']} {m['Severity']} {m['Title']}" for m in results
                if m["Status"] == "FAIL" and m["Severity"] in ("HIGH", "CRITICAL")]
    assert blocking == []


def test_a_gateway_in_cocus_yaml_renders_canary_weights(helm_bin: str, tmp_path: Path) -> None:
    """gke.gateway → the rendered values route by HTTPRoute weights; a canary step sets the candidate's weight
    (render-checked: no Gateway controller runs here)."""
    from cocusctl.core.config import load_config
    from cocusctl.core.gke import values as v
    from cocusctl.core.gke.chart import base_values

    config = tmp_path / "cocus.yaml"
    config.write_text(json.dumps({"version": 1, "default_environment": "gw", "environments": {"gw": {
        "target": "gke", "project": "acme-gw", "region": "europe-west1",
        "registry": {"url": "europe-west1-docker.pkg.dev/acme-gw/cocus"},
        "gke": {"namespace": "cocus", "gateway": {"name": "external-http", "namespace": "gateways",
                                                  "hostnames": ["rag.acme.example"]}},
        "revision": {"secrets": {"COCUS_API_KEYS": {"secret": "cocus-rag-api-keys", "version": "2"}}},
    }}}))
    loaded = load_config(config, environ={})
    base = base_values(loaded, loaded.environment("gw"))
    api = base.pop("api")
    stable = v.with_revision("cocus-rag", {**api, "image": {**api["image"], "digest": "sha256:" + "a" * 64}})
    candidate = v.with_revision("cocus-rag", {**api, "image": {**api["image"], "digest": "sha256:" + "b" * 64}})
    values_file = tmp_path / "values.json"
    values_file.write_text(json.dumps(v.canary_values(base, stable, candidate, replicas=1, weight=10)))
    docs = render(helm_bin, "--values", str(values_file))
    route = one(docs, "HTTPRoute", "cocus-rag")
    assert {b["name"]: b["weight"] for b in route["spec"]["rules"][0]["backendRefs"]} == {
        "cocus-rag-stable": 90, "cocus-rag-canary": 10}
    assert route["spec"]["hostnames"] == ["rag.acme.example"]
    assert one(docs, "Deployment", "cocus-rag-canary")["spec"]["template"]["metadata"]["labels"][
        "cocus.dev/revision"] == candidate["revision"]
