"""The emulator's resource rules: canonical proto-JSON, output-only fields, traffic validation."""

from __future__ import annotations

import pytest

pytest.importorskip("google.cloud.run_v2")

from cocusctl.emulator import resources as R  # noqa: E402


def test_output_only_fields_are_dropped_and_enums_are_ints():
    svc = R.normalise_service({
        "uid": "x", "etag": "y", "uri": "http://z", "generation": "4", "trafficStatuses": [{"percent": 5}],
        "template": {"containers": [{"image": "img"}]},
        "traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}],
    })
    assert svc == {"template": {"containers": [{"image": "img"}]}, "traffic": [{"type": 1, "percent": 100}]}


def test_unknown_fields_and_fractional_percents_are_bad_requests():
    with pytest.raises(R.ApiError) as err:
        R.normalise_service({"template": {"containerz": []}})
    assert err.value.http_status == 400
    with pytest.raises(R.ApiError):
        R.normalise_service({"traffic": [{"percent": 10.5}]})


def test_traffic_validation():
    known = {"s-a": {"conditions": [{"type": "Ready", "state": R.STATE_SUCCEEDED}]},
             "s-f": {"conditions": [{"type": "Ready", "state": R.STATE_FAILED}]}}
    ok = R.validate_traffic([{"type": 2, "revision": "s-a", "percent": 90}, {"type": 2, "revision": "s-n",
                             "percent": 10, "tag": "c"}], known_revisions=known, new_revision="s-n",
                            latest_revision="s-a")
    assert [(t.revision, t.percent, t.tag) for t in ok] == [("s-a", 90, ""), ("s-n", 10, "c")]
    cases = [
        ([{"type": 2, "revision": "s-a", "percent": 90}], "sum to 100"),
        ([{"type": 2, "revision": "s-x", "percent": 100}], "does not exist"),
        ([{"type": 2, "revision": "s-f", "percent": 100}], "not ready"),
        ([{"type": 2, "revision": "s-a", "percent": 50, "tag": "t"},
          {"type": 1, "percent": 50, "tag": "t"}], "unique"),
    ]
    for traffic, message in cases:
        with pytest.raises(R.ApiError, match=message):
            R.validate_traffic(traffic, known_revisions=known, new_revision=None, latest_revision="s-a")


@pytest.mark.parametrize("value,expected", [("512Mi", 512 * 2**20), ("1Gi", 2**30), ("1G", 10**9), ("x", None)])
def test_memory_quantities(value, expected):
    assert R.memory_bytes(value) == expected


def test_cpu_quantities():
    assert R.nano_cpus("1") == 10**9 and R.nano_cpus("500m") == 5 * 10**8 and R.nano_cpus("x") is None
