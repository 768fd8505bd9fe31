"""Per-check scenarios (named after the check): each fails there with the right resources, passes on healthy."""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_no_traceback
from tests.e2e.conftest import diagnose_json, sandbox_up

pytestmark = pytest.mark.slow


def _by_id(report: dict) -> dict:
    return {f["check"]: f for f in report["findings"]}


def test_healthy_scenario_passes_every_configuration_check(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("healthy"))
    failing = [(f["check"], f["summary"]) for f in report["findings"] if f["status"] not in ("pass", "skip")]
    assert failing == []
    assert report["_exit"] == 0


@pytest.mark.parametrize("check,named", [
    ("dns.record-exists", ["api.shineskincollective.com"]),
    ("dns.points-to-service-alb", ["awseb--AWSEB-ydAUJ3jj2fwA", "production-shine-skincare-alb"]),
    ("listener.routes-to-service", ["production-shine-api-gateway-tg", "HTTPS:443"]),
    ("tg.port-matches-container", ["shine-api-tg-fixed", "5000", "8000"]),
    ("ecs.service-running", ["production-shine-cluster/shine-api-gateway", "0 of the 1"]),
    ("sg.alb-to-task-ingress", ["tcp/8000"]),
])
def test_configuration_scenario_fails_its_check_as_the_only_root_cause(cli, scenario_server, check, named):
    report = diagnose_json(cli, scenario_server(check))
    f = _by_id(report)[check]
    assert f["status"] == "fail", f
    text = f["summary"] + " " + " ".join(f["resources"])
    for word in named:
        assert word in text, (word, f)
    assert report["root_causes"] == [check], report["root_causes"]
    assert report["_exit"] == 1


@pytest.mark.parametrize("check,words", [
    ("smoke.health", ["502"]),
    ("smoke.face-detect", ["404"]),
    ("smoke.analyze", ["'results', not 'result'"]),
    ("cors.allows-frontend-origin", ["https://www.shineskincollective.com"]),
])
def test_live_scenario_fails_its_smoke_check_through_the_emulated_path(cli, check, words):
    sandbox_up(cli, check)
    try:
        proc = cli("diagnose", "--sandbox", "--format", "json")
        assert_no_traceback(proc)
        report = json.loads(proc.stdout)
        f = _by_id(report)[check]
        assert f["status"] == "fail", f
        for word in words:
            assert word in f["summary"], f
        assert f["evidence"]["simulated"] is True
        configuration = [x for x in report["findings"] if not x["check"].startswith(("smoke.", "cors.", "tg.targets-"))]
        assert all(x["status"] == "pass" for x in configuration), [x for x in configuration if x["status"] != "pass"]
        assert check in report["root_causes"] or "tg.targets-healthy" in report["root_causes"]
    finally:
        cli("sandbox", "down")
