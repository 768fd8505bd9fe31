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


# what each live scenario shows where the tasks are containers (the default where podman and the image are):
# FM-14's container exits at import, so ECS stops the task and the load balancer has no target (503); as a
# local process the task's address refuses the connection (502)
CONTAINER_WORDS = {"smoke.health": ["503"]}
CONTAINER_ROOT = {"smoke.health": "ecs.tasks-not-crashing"}


@pytest.mark.parametrize("check,words", [
    ("smoke.health", ["502"]),
    ("smoke.face-detect", ["404"]),
    ("smoke.analyze", ["'results', not 'result'"]),
    ("cors.allows-frontend-origin", ["https://www.shineskincollective.com"]),
])
def test_live_scenario_fails_its_smoke_check_through_the_emulated_path(cli, check, words):
    st = sandbox_up(cli, check)
    try:
        in_container = st["task_runtime"] == "container"
        proc = cli("diagnose", "--sandbox", "--format", "json")
        assert_no_traceback(proc)
        report = json.loads(proc.stdout)
        f = _by_id(report)[check]
        assert f["status"] == "fail", f
        for word in (CONTAINER_WORDS.get(check, words) if in_container else words):
            assert word in f["summary"], f
        assert f["evidence"]["simulated"] is True
        configuration = [x for x in report["findings"] if not x["check"].startswith(("smoke.", "cors.", "tg.targets-"))]
        if in_container and check in CONTAINER_ROOT:  # the stopped task is the root cause, named by its check
            assert CONTAINER_ROOT[check] in report["root_causes"], report["root_causes"]
            configuration = [x for x in configuration if not x["check"].startswith("ecs.")]
        assert all(x["status"] == "pass" for x in configuration), [x for x in configuration if x["status"] != "pass"]
        assert check in report["root_causes"] or "tg.targets-healthy" in report["root_causes"] or (
            in_container and CONTAINER_ROOT.get(check) in report["root_causes"])
    finally:
        cli("sandbox", "down")
