"""Write benchmarks/README.md from the JSON results, so the table never disagrees with the measurements."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def load(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def row(what: str, measured: str, target: str, ok: bool | None, source: str) -> str:
    verdict = {True: "meets", False: "MISSES", None: "-"}[ok]
    return f"| {what} | {measured} | {target} | {verdict} | `{source}` |"


def main() -> None:
    rows: list[str] = []
    help_time = load("help_time")
    if help_time:
        h = help_time["cocusctl_help"]
        rows.append(row("`cocusctl --help` (console script)", f"median {h['median_s']} s, min {h['min_s']} s",
                        "≤ 0.25 s", h["median_s"] <= 0.25, "help_time.json"))
    fresh = load("fresh_machine")
    for result in (fresh or {}).get("results", {}).values():
        runs = result["runs"]
        rows.append(row(f"`{result['command']}` on a fresh machine (commit {result['commit']}): each run",
                        " / ".join(f"{r['wall_s']} s (exit {r['exit_code']})" for r in runs), "passes",
                        bool(runs) and all(r["exit_code"] == 0 for r in runs), "fresh_machine.json"))
    image = load("service_image")
    if image:
        rows.append(row("service image size", f"{image['size_mb']} MB ({image['compressed_mb']} MB compressed)",
                        "≤ 400 MB", image["size_mb"] <= 400, "service_image.json"))
    build = load("build_times")
    if build:
        rows.append(row("service image build, cold (`--no-cache`)", f"{build['cold_build']['wall_s']} s", "-", None,
                        "build_times.json"))
        rows.append(row("service image build, warm / warm + scan + push",
                        f"{build['warm_build']['wall_s']} s / {build['warm_build_scan_push']['wall_s']} s", "-", None,
                        "build_times.json"))
    cold = load("service_coldstart")
    if cold:
        rows.append(row("cold start: container start → /readyz 200", f"median {cold['median_s']} s",
                        "≤ 2 s", cold["median_s"] <= 2.0, "service_coldstart.json"))
    query = load("service_query")
    if query:
        single, conc = query["single_client"], query["concurrent_16"]
        rows.append(row(f"/v1/query, 1 client, {query['corpus_chunks']} chunks, cache off", f"p50 {single['p50_ms']} ms",
                        "p50 ≤ 15 ms", single["p50_ms"] <= 15, "service_query.json"))
        rows.append(row("/v1/query, 16 concurrent clients",
                        f"{conc['throughput_rps']} req/s, p99 {conc['p99_ms']} ms", "≥ 150 req/s, p99 ≤ 200 ms",
                        conc["throughput_rps"] >= 150 and conc["p99_ms"] <= 200, "service_query.json"))
    quality = load("service_retrieval")
    if quality:
        r = quality["results"]["all"]
        measured = ", ".join(f"{k} R@5 {v['recall@5']:.2f} / MRR {v['mrr']:.3f}" for k, v in r.items())
        beats = r["hybrid"]["recall@5"] > max(r["bm25"]["recall@5"], r["dense"]["recall@5"]) and r["hybrid"][
            "mrr"] > max(r["bm25"]["mrr"], r["dense"]["mrr"])
        rows.append(row(f"retrieval quality, all {quality['questions']} questions", measured,
                        "hybrid beats BM25 and dense on both", beats, "service_retrieval.json"))
        held = quality["results"]["paraphrased_heldout"]
        rows.append(row(f"paraphrased held-out questions ({held['hybrid']['n']}, written before tuning), hybrid",
                        f"R@5 {held['hybrid']['recall@5']:.2f} / MRR {held['hybrid']['mrr']:.3f}", "R@5 ≥ 0.85",
                        held["hybrid"]["recall@5"] >= 0.85, "service_retrieval.json"))
    leakage = load("service_fusion_leakage")
    if leakage:
        fits = ", ".join(f"{v['dev_questions_left_out']} left out: R@5 {v['heldout']['recall@5']:.3f}"
                         for v in leakage["variants"])
        rows.append(row("held-out R@5 with the fusion refit without dev questions resembling held-out ones",
                        fits, "R@5 ≥ 0.85 in every variant", leakage["worst_heldout_recall_at_5"] >= 0.85,
                        "service_fusion_leakage.json"))
    traffic = load("cloudrun_traffic")
    if traffic:
        split = traffic["split_90_10"]
        rows.append(row("90/10 split over 2,000 requests (emulator)",
                        f"10 % side got {', '.join(map(str, split['share_of_10pct_revision']))} %", "within ±3 points",
                        split["max_error_points"] <= 3, "cloudrun_traffic.json"))
        crash, canary = traffic["crashing_deploy_under_load"], traffic["canary_deploy_under_load"]
        rows.append(row("crashing deploy under load", f"{crash['failed_requests']} failed of {crash['requests']}",
                        "0 failed", crash["failed_requests"] == 0, "cloudrun_traffic.json"))
        rows.append(row("canary deploy under load", f"{canary['failed_requests']} failed of {canary['requests']}",
                        "0 failed", canary["failed_requests"] == 0, "cloudrun_traffic.json"))
    canary = load("canary_analysis")
    if canary:
        bad, good = canary["failing_candidate"], canary["good_candidate"]
        stops = sorted({t["stopped_at_percent"] for t in bad["trials"]})
        rows.append(row("canary of a candidate failing 20 % of queries (router counters)",
                        f"stopped at {', '.join(map(str, stops))} %; failed requests "
                        f"{', '.join(str(t['failed_share_pct']) for t in bad['trials'])} % of the load",
                        f"first step; ≤ {bad['bound_pct']} % (10 % share x 20 %)",
                        stops == [10] and bad["max_failed_share_pct"] <= bad["bound_pct"], "canary_analysis.json"))
        rows.append(row("canary of a good candidate (10 → 50 → 100, 5 s pauses)",
                        f"{', '.join(good['verdicts'])}; {good['duration_s']} s, {good['failed_requests']} failed",
                        "passes, 0 failed", good["failed_requests"] == 0 and "fail" not in good["verdicts"],
                        "canary_analysis.json"))
    for name, label in (("cloudrun_deploy", "small test image"), ("cloudrun_deploy_service", "the service image")):
        deploy = load(name)
        if deploy:
            rows.append(row(f"deploy, strategy all, {label}: start → 100 %",
                            f"median {deploy['cli_wall']['median_s']} s (cocusctl core overhead "
                            f"{deploy['core_overhead_s']['median_s']} s)", "≤ 10 s",
                            deploy["cli_wall"]["median_s"] <= 10, f"{name}.json"))
    cluster = load("cluster")
    if cluster:
        built = cluster["build"]
        rows.append(row("local cluster: first build (Debian source → 4 binaries, 2 cores)",
                        f"{built['compile_s']:.0f} s compile ({built['measured']})", "once per machine, cached",
                        None, "cluster.json"))
        fresh, warm = cluster["start_fresh_home_s"], cluster["start_warm_s"]
        rows.append(row("local cluster: `cluster start` → API serving, node Ready",
                        f"fresh home median {fresh['median']} s, restart median {warm['median']} s",
                        "seconds (≤ 20 s)", warm["median"] <= 20 and fresh["median"] <= 20, "cluster.json"))
        rows.append(row("local cluster: resident memory", f"{cluster['rss_mb_idle']['total']:.0f} MB idle, "
                        f"{cluster['rss_mb_3_pods']['total']:.0f} MB with 3 pods (control plane + agent)", "-", None,
                        "cluster.json"))
    gke = load("gke_release")
    if gke:
        first, upgrade = gke["first_deploy_3_replicas_s"], gke["upgrade_3_replicas_s"]
        rows.append(row("GKE on the local cluster: deploy start → 3 pods ready + smoke (first / upgrade)",
                        f"median {first['median']} s / {upgrade['median']} s", "-", None, "gke_release.json"))
        load_up, crash = gke["upgrade_under_load"], gke["crashing_image_under_load"]
        rows.append(row("GKE upgrade under load", f"{load_up['failed_requests']} failed of {load_up['requests']}",
                        "0 failed", load_up["failed_requests"] == 0, "gke_release.json"))
        rows.append(row("GKE crashing image under load: automatic Helm rollback",
                        f"{crash['failed_requests']} failed of {crash['requests']}, exit {crash['exit_code']}, "
                        f"{crash['fail_and_rollback_s']} s", "0 failed, exit 11",
                        crash["failed_requests"] == 0 and crash["exit_code"] == 11, "gke_release.json"))
        canary = gke["canary_10_50_100"]
        shares = ", ".join(f"{s['asked_percent']} → {s['measured_percent']} %" for s in canary["steps"])
        rows.append(row(f"GKE canary by replica share, {canary['requests_per_step']} requests per step",
                        f"{shares}; {canary['failed_requests']} failed under load", "± 5 points, 0 failed",
                        canary["max_error_points"] <= 5 and canary["failed_requests"] == 0, "gke_release.json"))
        hpa = gke["hpa_2_to_3"]
        rows.append(row("GKE HPA 2 → 3 under CPU load (chart's autoscaling/v2beta2 on 1.20)",
                        f"{hpa['load_start_to_3_ready_s']} s to 3 ready pods" if hpa["scaled"] else "did not scale",
                        "scales", hpa["scaled"], "gke_release.json"))
    gate = load("gke_quality_gate")
    if gate:
        cost = gate["good_candidate_strategy_all"]
        rows.append(row(f"GKE quality gate ({cost['last_quality_gate']['candidate']['questions']} questions on "
                        "candidate and serving revision): added to a deploy",
                        f"median {cost['median_with_gate_s']} s with / {cost['median_skipping_gate_s']} s without "
                        f"(+{cost['gate_cost_s']} s)", "-", None, "gke_quality_gate.json"))
        for strategy in ("all", "canary"):
            bad = gate[f"degraded_candidate_{strategy}_under_load"]
            sides = bad["quality_gate"]
            rows.append(row(f"GKE degraded candidate (BM25 only), strategy {strategy}, under load",
                            f"exit {bad['exit_code']}, recall@5 {sides['candidate']['recall_at_k']} vs "
                            f"{sides['baseline']['recall_at_k']}; {bad['served_by_candidate']} of {bad['requests']} "
                            f"requests reached it, {bad['failed_requests']} failed; {bad['block_and_rollback_s']} s",
                            "exit 11, 0 reached it, 0 failed",
                            bad["exit_code"] == 11 and bad["served_by_candidate"] == 0 and bad["failed_requests"] == 0,
                            "gke_quality_gate.json"))
    lynis = load("lynis_hardening")
    if lynis:
        rows.append(row("Lynis hardening index, `cocusctl harden` on a bookworm container",
                        f"{lynis['hardening_index_before']} → {lynis['hardening_index_after']} "
                        f"(+{lynis['rise']}; harden {lynis['harden_wall_s']} s)", "rises",
                        lynis["rise"] > 0, "lynis_hardening.json"))
    text = [
        "# Benchmarks",
        "",
        "Each script under `benchmarks/` measures one target and writes JSON under `benchmarks/results/`;",
        "`python3 benchmarks/report.py` regenerates this table from those files (`nox -s bench` runs them all).",
        "All were run on the project's 2-core machine, usually while other work loaded it (each JSON file records",
        "the load average where the script reads it).",
        "",
        "| what | measured | target | verdict | result file |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]
    (HERE / "README.md").write_text("\n".join(text))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
