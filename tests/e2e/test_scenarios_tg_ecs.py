"""Per-check scenarios of the target-group and ECS task checks: each fails in its scenario with the right resources
named (and as the root cause, or explained by the one that is); every one passes on healthy."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import diagnose_json

pytestmark = pytest.mark.slow

MINE = ["tg.health-check-matches-app", "tg.targets-registered", "tg.targets-healthy",
        "ecs.lb-container-matches-taskdef", "ecs.port-env-matches-container", "ecs.grace-period-covers-startup",
        "ecs.tasks-not-crashing"]


def _by_id(report: dict) -> dict:
    return {f["check"]: f for f in report["findings"]}


def _failing(report: dict) -> list[str]:
    return [f["check"] for f in report["findings"] if f["status"] == "fail"]


def test_tg_ecs_checks_pass_on_healthy(cli, scenario_server):
    by_id = _by_id(diagnose_json(cli, scenario_server("healthy")))
    for check in MINE:
        assert by_id[check]["status"] == "pass", (check, by_id[check]["summary"])
    assert by_id["tg.targets-healthy"]["evidence"]["simulated"] is True
    assert by_id["ecs.grace-period-covers-startup"]["evidence"]["health_check_grace_period_s"] == 120


def test_tg_health_check_matches_app_scenario(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("tg.health-check-matches-app"))
    f = _by_id(report)["tg.health-check-matches-app"]
    assert f["status"] == "fail" and f["fix"] == "tg.align-health-check"
    assert "/healthz" in f["summary"] and any("targetgroup/shine-api-tg-8000-fixed/" in r for r in f["resources"])
    health = _by_id(report)["tg.targets-healthy"]
    assert health["status"] == "fail" and "Target.ResponseCodeMismatch" in health["summary"]
    assert health["explained_by"] == ["tg.health-check-matches-app"]
    assert report["root_causes"] == ["tg.health-check-matches-app"]


def test_tg_targets_registered_scenario(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("tg.targets-registered"))
    f = _by_id(report)["tg.targets-registered"]
    assert f["status"] == "fail" and f["fix"] == "tg.deregister-stale-targets"
    assert "172.31.14.122" in f["resources"] and "172.31.14.122:8000" in f["summary"]
    assert any("targetgroup/shine-api-tg-8000-fixed/" in r for r in f["resources"])
    assert "tg.targets-registered" in report["root_causes"]


def test_tg_targets_healthy_scenario_is_a_consequence_not_a_root_cause(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("tg.targets-healthy"))
    f = _by_id(report)["tg.targets-healthy"]
    assert f["status"] == "fail" and "Target.Timeout" in f["summary"]
    assert f["evidence"]["simulated"] is True
    assert any("targetgroup/shine-api-tg-8000-fixed/" in r for r in f["resources"])
    assert f["explained_by"] == ["sg.alb-to-task-ingress"]
    assert "tg.targets-healthy" not in report["root_causes"]
    assert report["root_causes"] == ["sg.alb-to-task-ingress"]


def test_ecs_lb_container_matches_taskdef_scenario(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("ecs.lb-container-matches-taskdef"))
    f = _by_id(report)["ecs.lb-container-matches-taskdef"]
    assert f["status"] == "fail" and f["fix"] == "ecs.align-lb-container"
    assert "api-gateway" in f["summary"] and "shine-api-gateway" in f["summary"]
    assert any(r.endswith("service/production-shine-cluster/shine-api-gateway") for r in f["resources"])
    assert any("task-definition/shine-api-gateway:" in r for r in f["resources"])
    assert report["root_causes"] == ["ecs.lb-container-matches-taskdef"]


def test_ecs_port_env_matches_container_scenario(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("ecs.port-env-matches-container"))
    f = _by_id(report)["ecs.port-env-matches-container"]
    assert f["status"] == "fail" and "PORT=5000" in f["summary"] and "8000" in f["summary"]
    assert any("task-definition/shine-api-gateway:" in r for r in f["resources"])
    assert _by_id(report)["tg.targets-healthy"]["explained_by"] == ["ecs.port-env-matches-container"]
    assert report["root_causes"] == ["ecs.port-env-matches-container"]


def test_ecs_grace_period_covers_startup_scenario(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("ecs.grace-period-covers-startup"))
    f = _by_id(report)["ecs.grace-period-covers-startup"]
    assert f["status"] == "fail" and f["fix"] == "ecs.set-grace-period" and f["severity"] == "medium"
    assert "10 s" in f["summary"] and "60 s" in f["summary"]
    assert any(r.endswith("service/production-shine-cluster/shine-api-gateway") for r in f["resources"])
    assert _failing(report) == ["ecs.grace-period-covers-startup"]
    assert report["_exit"] == 0  # medium: below the default --fail-on high


def test_ecs_tasks_not_crashing_scenario(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("ecs.tasks-not-crashing"))
    f = _by_id(report)["ecs.tasks-not-crashing"]
    assert f["status"] == "fail"
    assert "out of memory" in f["summary"] and "exit 137" in f["summary"]
    kinds = sorted(t["kind"] for t in f["evidence"]["stopped_tasks"])
    assert kinds == ["image-pull", "oom"]
    assert [e["kind"] for e in f["evidence"]["failure_events"]] == ["container-health"]
    assert sum(":task/production-shine-cluster/" in r for r in f["resources"]) == 2, f["resources"]
    assert report["root_causes"] == ["ecs.tasks-not-crashing"]
    # the stopped tasks are not stale targets, and the running one still serves
    assert _by_id(report)["tg.targets-registered"]["status"] == "pass"
    assert _by_id(report)["ecs.service-running"]["status"] == "pass"


def test_tg_ecs_incident_keeps_its_root_causes(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("shine-incident"))
    assert report["root_causes"] == ["dns.points-to-service-alb", "listener.routes-to-service",
                                     "sg.alb-to-task-ingress"]
    assert _by_id(report)["tg.port-matches-container"]["status"] == "warn"  # targets sit on 8000: harmless
    by_id = _by_id(report)
    assert by_id["tg.targets-healthy"]["status"] == "fail"
    assert by_id["tg.targets-healthy"]["explained_by"]


def test_tg_ecs_scenarios_through_the_sandbox_daemon(cli):
    """The daemon applies the same in-process scaffolding (stopped tasks' exit codes, service events), and the live
    probes that a stale target breaks are explained by tg.targets-registered."""
    import json

    from tests.e2e.conftest import sandbox_up

    for scenario in ("ecs.tasks-not-crashing", "tg.targets-registered"):
        sandbox_up(cli, scenario)
        try:
            proc = cli("diagnose", "--sandbox", "--format", "json")
            report = json.loads(proc.stdout)
            assert proc.returncode == 1, proc.stderr
            assert report["root_causes"] == [scenario], [(f["check"], f["summary"]) for f in report["findings"]
                                                         if f["status"] == "fail"]
            f = _by_id(report)[scenario]
            if scenario == "ecs.tasks-not-crashing":
                assert "OutOfMemoryError" in f["summary"] and "exit 137" in f["summary"]
                assert f["evidence"]["failure_events"]
            else:
                assert "172.31.14.122" in f["resources"]
        finally:
            cli("sandbox", "down")
