"""Deployments as ECS reports them (docs/aws-behaviour.md section 5), through the real CLI on sandbox scenarios whose
rollout state the sandbox simulates (moto cannot roll out): a service mid-rollout is named as such with the
revision that serves, a rolled-back rollout fails with its reason, and a grace period of 0 with stable tasks and
no declared startup_budget_s is no failure and nothing to fix."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.conftest import diagnose_json

pytestmark = pytest.mark.slow

DOMAIN = ["--domain", "api.shineskincollective.com"]
TD_CHECKS = ["ecs.lb-container-matches-taskdef", "ecs.port-env-matches-container"]


@pytest.fixture()
def cli(tmp_path):
    """A CLI with its own state directory (fix --apply journals there)."""
    from tests.conftest import Cli

    return Cli(tmp_path)


def _by_id(report: dict) -> dict:
    return {f["check"]: f for f in report["findings"]}


def test_mid_rollout_service_is_named_with_its_serving_revision(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("ecs.rollout-in-progress"))
    f = _by_id(report)["ecs.service-running"]
    assert f["status"] == "warn", f["summary"]
    assert "rolling out shine-api-gateway:2 (0/1 running, 1 pending)" in f["summary"]
    assert "shine-api-gateway:1 serves 1/1" in f["summary"]
    assert f["evidence"]["simulated"] is True and f["evidence"]["serving_revisions"] == ["shine-api-gateway:1"]
    assert [(d["status"], d["task_definition"], d["rollout_state"]) for d in f["evidence"]["deployments"]] == [
        ("PRIMARY", "shine-api-gateway:2", "IN_PROGRESS"), ("ACTIVE", "shine-api-gateway:1", "COMPLETED")]
    for check in TD_CHECKS:  # both revisions judged, and the summary says the PRIMARY one runs nothing yet
        td = _by_id(report)[check]
        assert td["status"] == "pass", td["summary"]
        assert "PRIMARY revision shine-api-gateway:2 runs no task yet" in td["summary"], td["summary"]
        assert td["evidence"]["revisions"] == {"shine-api-gateway:2": "PRIMARY, rolling out, no task runs it yet",
                                               "shine-api-gateway:1": "serving"}
    assert [x["check"] for x in report["findings"] if x["status"] == "fail"] == []
    assert report["_exit"] == 0  # a rollout in progress is no failure


def test_rolled_back_rollout_fails_naming_the_reason(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("ecs.rollout-rolled-back"))
    f = _by_id(report)["ecs.service-running"]
    assert f["status"] == "fail", f["summary"]
    assert "shine-api-gateway:2 FAILED (ECS deployment circuit breaker: tasks failed to start.)" in f["summary"]
    assert "rolled back to shine-api-gateway:1" in f["summary"]
    assert "now shine-api-gateway:1 serves 1/1" in f["summary"]  # which revision the running tasks use
    assert "[simulated]" not in f["summary"] and f["evidence"]["simulated"] is True
    assert report["root_causes"] == ["ecs.service-running"]
    assert report["_exit"] == 1


def test_grace_period_zero_with_stable_tasks_is_no_failure_and_nothing_to_fix(cli, scenario_server):
    endpoint = scenario_server("healthy-grace-zero")
    report = diagnose_json(cli, endpoint)
    assert [(x["check"], x["summary"]) for x in report["findings"] if x["status"] == "fail"] == []
    grace = _by_id(report)["ecs.grace-period-covers-startup"]
    assert grace["status"] in ("pass", "warn") and "startup_budget_s" in grace["summary"], grace["summary"]
    assert grace["evidence"]["health_check_grace_period_s"] == 0
    assert grace["evidence"]["killed_while_starting"] == []
    applied = cli("fix", "alb-ecs", "--endpoint-url", endpoint, "--region", "us-east-1", *DOMAIN, "--apply", "--yes")
    assert "Traceback" not in applied.stderr, applied.stderr
    assert applied.returncode == 0, applied.stdout + applied.stderr
    calls = re.search(r"api calls: (\d+) total, (\d+) mutating", applied.stderr)
    assert calls and int(calls.group(2)) == 0, applied.stderr  # mutating: anything but Describe/List/Get
    assert "ecs.set-grace-period" not in applied.stdout
    after = diagnose_json(cli, endpoint)
    assert _by_id(after)["ecs.grace-period-covers-startup"]["evidence"]["health_check_grace_period_s"] == 0


def test_the_sandbox_daemon_keeps_a_simulated_rollout_as_declared(cli):
    """The daemon's deployment follower restarts tasks whose revision differs from their service's: it must not
    finish a simulated rollout (the running task keeps serving the old revision, as the scenario says)."""
    import time

    from tests.e2e.conftest import sandbox_up

    sandbox_up(cli, "ecs.rollout-in-progress")
    try:
        time.sleep(3)  # several rounds of the follower
        proc = cli("diagnose", "--sandbox", "--no-probe", "--format", "json")
        assert "Traceback" not in proc.stderr, proc.stderr
        f = _by_id(json.loads(proc.stdout))["ecs.service-running"]
        assert f["status"] == "warn" and f["evidence"]["serving_revisions"] == ["shine-api-gateway:1"], f["summary"]
        log = (cli.state_dir / "sandbox.log").read_text()
        assert "sandbox ready" in log and "restarted on shine-api-gateway:2" not in log
    finally:
        cli("sandbox", "down")
