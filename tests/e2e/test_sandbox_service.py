"""The sandbox runs the reference service as the scenario's ECS task and routes to it through the configured
path, so each seeded fault breaks requests the way it would on AWS (issue 3, item 8)."""

from __future__ import annotations

import json

import pytest
import requests

from tests.conftest import assert_no_traceback
from tests.e2e.conftest import sandbox_up

pytestmark = pytest.mark.slow
DOMAIN = "api.shineskincollective.com"


def _get(st: dict, path: str) -> requests.Response:
    return requests.get(st["alb_endpoint"] + path, headers={"Host": DOMAIN}, timeout=30)


def _target_health(st: dict) -> list[dict]:
    import boto3

    elb = boto3.client("elbv2", endpoint_url=st["endpoint"], region_name="us-east-1")
    tg = elb.describe_target_groups(Names=["shine-api-tg-8000-fixed"])["TargetGroups"][0]["TargetGroupArn"]
    return elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]


def test_healthy_scenario_serves_the_real_service_through_the_alb(cli):
    st = sandbox_up(cli, "healthy")
    try:
        assert st["service_runner"] == "running"
        (task,) = st["tasks"]
        assert task["state"] == "ready" and task["port"] == 8000 and task["address"].startswith("127.77.")
        r = _get(st, "/health")
        assert r.status_code == 200 and r.json()["status"] == "ok"
        route = r.headers["X-Shine-Ops-Simulated"]
        assert route.startswith(f"{DOMAIN} -> production-shine-skincare-alb | HTTPS:443")
        assert f"task {task['address']}:8000" in route
        assert _get(st, "/ml/anything").status_code == 503  # the /ml/* rule's group has no targets
        (h,) = _target_health(st)
        assert h["TargetHealth"]["State"] == "healthy"
        assert h["TargetHealth"]["Description"].startswith("[simulated]")
        smoke = cli("smoke", st["alb_endpoint"], "--format", "json")
        assert_no_traceback(smoke)  # without the Host header the emulator finds no record: a failing smoke
        assert smoke.returncode == 1
        smoke = cli("smoke", "--sandbox", "--origin", "https://www.shineskincollective.com", "--format", "json")
        assert smoke.returncode == 0, smoke.stdout
        assert {f["check"]: f["status"] for f in json.loads(smoke.stdout)["findings"]} == {
            "smoke.health": "pass", "smoke.face-detect": "pass", "smoke.analyze": "pass",
            "cors.allows-frontend-origin": "pass"}
    finally:
        cli("sandbox", "down")


def test_incident_answers_504_like_the_recorded_one(cli):
    st = sandbox_up(cli, "shine-incident")
    try:
        r = _get(st, "/health")
        assert r.status_code == 504
        assert "awseb--AWSEB-ydAUJ3jj2fwA" in r.headers["X-Shine-Ops-Simulated"]
        assert "172.31.14.122:8000" in r.headers["X-Shine-Ops-Simulated"]
    finally:
        cli("sandbox", "down")


def test_port_env_mismatch_really_listens_on_the_wrong_port(cli):
    st = sandbox_up(cli, "ecs.port-env-matches-container")
    try:
        (task,) = st["tasks"]
        assert task["port"] == 5000  # the task definition's PORT, not the container port
        if st["task_runtime"] == "container":  # ready inside on 5000; only the container port is published
            assert task["state"] == "ready"
            with pytest.raises(requests.ConnectionError):
                requests.get(f"http://{task['address']}:5000/health", timeout=5)
        else:  # a local process on the task's own address answers on the PORT it was told
            assert requests.get(f"http://{task['address']}:5000/health", timeout=10).status_code == 200
        r = _get(st, "/health")
        assert r.status_code == 502 and "connection refused" in r.headers["X-Shine-Ops-Simulated"]
        (h,) = _target_health(st)
        assert (h["TargetHealth"]["State"], h["TargetHealth"]["Reason"]) == ("unhealthy", "Target.FailedHealthChecks")
        report = json.loads(cli("diagnose", "--sandbox", "--format", "json").stdout)
        by_id = {f["check"]: f for f in report["findings"]}
        assert by_id["smoke.health"]["status"] == "fail" and "502" in by_id["smoke.health"]["summary"]
    finally:
        cli("sandbox", "down")


def test_one_fix_repairs_the_sandbox_incident_end_to_end(cli):
    """fix alb-ecs --sandbox --apply --yes --wait repairs the faults and waits until the targets turn healthy (the
    sandbox converges over interval x threshold, as AWS does); then diagnose (live smoke included) exits 0."""
    sandbox_up(cli, "shine-incident")
    try:
        fixed = cli("fix", "alb-ecs", "--sandbox", "--apply", "--yes", "--wait", "--wait-timeout", "120",
                    timeout=300)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert "green after" in fixed.stdout + fixed.stderr
        proc = cli("diagnose", "--sandbox", "--format", "json")
        report = json.loads(proc.stdout)
        assert proc.returncode == 0, [f for f in report["findings"] if f["status"] != "pass"]
        assert report["summary"]["fail"] == 0
        assert _get(st := json.loads((cli.state_dir / "sandbox.json").read_text()), "/health").status_code == 200
        assert "production-shine-skincare-alb" in _get(st, "/health").headers["X-Shine-Ops-Simulated"]
    finally:
        cli("sandbox", "down")
