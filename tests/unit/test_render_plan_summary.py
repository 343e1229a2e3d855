"""Plan summary parsing of `terraform show -json` (format_version 1.x): actions, reasons, drift apart."""

from __future__ import annotations

from typing import Any

from cocusctl.core.infra import describe_counts, summarize_plan


def rc(address: str, actions: list[str], reason: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "address": address,
        "mode": "data" if address.startswith("data.") else "managed",
        "type": address.split(".")[-2] if not address.startswith("module.") else address.split(".")[2],
        "change": {"actions": actions, "before": {}, "after": {}},
    }
    if reason:
        item["action_reason"] = reason
    return item


PLAN = {
    "format_version": "1.2",
    "terraform_version": "1.11.4",
    "resource_changes": [
        rc("module.service.google_cloud_run_v2_service.this", ["update"]),
        rc("module.secrets.google_secret_manager_secret.this[\"a\"]", ["create"]),
        rc("module.network[0].google_compute_subnetwork.this", ["delete", "create"], "replace_because_cannot_update"),
        rc("module.registry.google_artifact_registry_repository.this", ["create", "delete"], "replace_by_request"),
        rc("module.secrets.google_secret_manager_secret.this[\"old\"]", ["delete"], "delete_because_no_resource_config"),
        rc("module.runtime_sa.google_service_account.this", ["no-op"]),
        rc("data.google_project.this", ["read"]),
    ],
    "resource_drift": [
        rc("module.service.google_cloud_run_v2_service.this", ["update"]),
        rc("module.runtime_sa.google_project_iam_member.roles[\"roles/logging.logWriter\"]", ["delete"]),
    ],
    "output_changes": {
        "service_url": {"actions": ["no-op"]},
        "repository_url": {"actions": ["update"]},
    },
}


def test_counts_actions_and_order() -> None:
    summary = summarize_plan(PLAN, environment="prod", root_module="/m", plan_file="/p", has_changes=True)
    assert summary.counts == {"create": 1, "update": 1, "replace": 2, "delete": 1}
    assert summary.total == 5
    assert [(c.action, c.address) for c in summary.changes] == [
        ("create", 'module.secrets.google_secret_manager_secret.this["a"]'),
        ("update", "module.service.google_cloud_run_v2_service.this"),
        ("replace", "module.network[0].google_compute_subnetwork.this"),
        ("replace", "module.registry.google_artifact_registry_repository.this"),
        ("delete", 'module.secrets.google_secret_manager_secret.this["old"]'),
    ]
    reasons = {c.address: c.reason for c in summary.changes}
    assert reasons["module.network[0].google_compute_subnetwork.this"] == "replace_because_cannot_update"
    assert summary.terraform_version == "1.11.4"
    assert describe_counts(summary) == "1 to create, 1 to update, 2 to replace, 1 to delete"


def test_drift_is_kept_apart_from_the_plan() -> None:
    summary = summarize_plan(PLAN, environment="prod")
    assert [(c.action, c.address) for c in summary.drift] == [
        ("update", "module.service.google_cloud_run_v2_service.this"),
        ("delete", 'module.runtime_sa.google_project_iam_member.roles["roles/logging.logWriter"]'),
    ]
    assert summary.counts["update"] == 1, "drift does not count as a planned change"


def test_output_only_changes_and_empty_plans() -> None:
    only_outputs = {"resource_changes": [rc("a.b", ["no-op"])], "output_changes": {"x": {"actions": ["create"]}}}
    summary = summarize_plan(only_outputs, environment="e")
    assert summary.has_changes and summary.total == 0 and summary.output_changes == ["x"]
    assert describe_counts(summary) == "1 output(s) to change"
    empty = summarize_plan({"resource_changes": None}, environment="e")
    assert not empty.has_changes and empty.changes == [] and empty.drift == []
    assert describe_counts(empty) == "no changes"


def test_detailed_exit_code_wins_over_the_json() -> None:
    assert not summarize_plan(PLAN, environment="e", has_changes=False).has_changes
