"""Collection at scale, as a user runs it (the real CLI in a subprocess, against a moto server):

- ``diagnose --all`` reads the account once and resolves every service's path from that read, yet each service's
  findings are those of its own ``diagnose --cluster --service`` run, on an account of healthy and broken services;
  ``audit`` over the same services shares one read the same way; their reports say the calls were shared;
- reads that run at once, through 30% throttling and 503s, give the same findings and make the same calls as one
  read at a time without faults.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.conftest import assert_no_traceback

pytestmark = pytest.mark.slow

CLUSTER = "production-shine-cluster"
WHERE = ("--no-probe", "--region", "us-east-1", "--format", "json")
# name -> (security group of its tasks, its target group's port): billing's tasks admit no one (a failure),
# reports' target group is on 5000 while its container listens on 8000 (its own finding)
EXTRA = {"orders": ("ecs", 8000), "billing": ("billing", 8000), "reports": ("ecs", 5000)}


def _mixed_account(tmp_path: Path) -> str:
    """The healthy Shine account plus three services routed by path on the same load balancer."""
    from shine_ops.sandbox.scenario import load_scenario

    sc = load_scenario("healthy")
    sc["name"] = "mixed"
    sc["security_groups"]["billing"] = {"name": "billing-sg", "description": "billing tasks: no ALB ingress"}
    rules = sc["load_balancers"]["production-shine-skincare-alb"]["listeners"]["https"].setdefault("rules", {})
    for i, (svc, (sg, port)) in enumerate(EXTRA.items()):
        sc["task_definitions"][svc] = {"cpu": "256", "memory": "512", "containers": {svc: {
            "image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{svc}:1", "port": 8000, "memory": 512,
            "environment": {"PORT": "8000"}}}}
        sc["target_groups"][f"{svc}-tg"] = {"port": port, "target_type": "ip", "health_check": {"path": "/health"}}
        rules[300 + 10 * i] = {"paths": [f"/{svc}/*"], "forward": f"{svc}-tg"}
        sc["clusters"][CLUSTER]["services"][svc] = {
            "task_definition": svc, "desired": 1, "running": 1, "subnets": ["a", "b"], "security_groups": [sg],
            "grace_period": 120, "load_balancers": [{"target_group": f"{svc}-tg", "container": svc, "port": 8000}]}
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(sc))
    return str(path)


def _verdicts(report: dict) -> dict:
    return {f["check"]: (f["status"], f["summary"]) for f in report["findings"]}


def _run(cli, *args: str, env: dict | None = None):
    proc = cli(*args, env=env, timeout=240)
    assert_no_traceback(proc)
    return proc


def test_all_and_audit_find_per_service_what_single_diagnoses_find(cli, scenario_server, tmp_path: Path) -> None:
    endpoint = scenario_server(_mixed_account(tmp_path))
    everything = json.loads(_run(cli, "diagnose", "--all", "--endpoint-url", endpoint, *WHERE).stdout)
    reports = {r["target"]["service"]: r for r in everything["reports"]}
    assert set(reports) == {"shine-api-gateway", *EXTRA}

    def single(svc: str) -> dict:
        return json.loads(_run(cli, "diagnose", "--endpoint-url", endpoint, "--cluster", CLUSTER, "--service", svc,
                               *WHERE).stdout)

    with ThreadPoolExecutor(max_workers=4) as pool:
        singles = dict(zip(reports, pool.map(single, reports)))
    for svc, alone in singles.items():
        shared = reports[svc]
        assert _verdicts(shared) == _verdicts(alone), svc
        assert shared["root_causes"] == alone["root_causes"], svc
        assert shared["target"] == alone["target"] and shared["path"] == alone["path"], svc
        assert "shared" not in alone["api_calls"]
    # a mixed account: the Shine API is healthy, billing's tasks admit no one
    assert not reports["shine-api-gateway"]["root_causes"]
    assert "sg.alb-to-task-ingress" in reports["billing"]["root_causes"]
    # one read for all: every report carries its cost, and it is less than the single runs' together
    calls = reports["orders"]["api_calls"]
    assert calls["shared"] == {"targets": 4, "total": calls["total"]}
    assert calls["total"] < sum(r["api_calls"]["total"] for r in singles.values())

    cfg = tmp_path / "audit.yaml"
    declared = yaml.safe_load((Path(cli.cwd) / "shine-ops.yaml").read_text()) or {}  # the scenario's, as above
    cfg.write_text(yaml.safe_dump({**declared, "playbooks": ["snail-trail"], "fail_on": "high", "targets": [
        {"name": s, "cluster": CLUSTER, "service": s, "region": "us-east-1"} for s in reports]}))
    out = tmp_path / "audit-out"
    proc = _run(cli, "audit", "--config", str(cfg), "--out-dir", str(out), "--no-probe", "--no-cloudwatch",
                "--endpoint-url", endpoint)
    assert proc.returncode == 1  # billing fails at high
    audited = json.loads((out / "report.json").read_text())["targets"]
    for t in audited:
        svc = t["target"]["service"]
        assert {f["check"]: f["status"] for f in t["findings"]} == {c: v[0] for c, v in _verdicts(singles[svc]).items()}
        assert t["root_causes"] == singles[svc]["root_causes"]


def test_reads_at_once_through_30_percent_faults_find_and_call_what_one_at_a_time_does(cli, scenario_server,
                                                                                       chaos_proxy) -> None:
    endpoint = scenario_server("shine-incident")
    proxy = chaos_proxy(endpoint, fault_rate=0.3, seed=15)
    args = ("diagnose", "--domain", "api.shineskincollective.com", *WHERE)
    calm = _run(cli, *args, "--endpoint-url", endpoint, env={"SHINE_OPS_WORKERS": "1"})
    stormy = _run(cli, *args, "--endpoint-url", proxy.url, env={"SHINE_OPS_WORKERS": "8"})
    one, many = json.loads(calm.stdout), json.loads(stormy.stdout)
    assert stormy.returncode == calm.returncode == 1
    assert _verdicts(many) == _verdicts(one)
    assert many["root_causes"] == one["root_causes"] and many["root_causes"]
    assert many["api_calls"]["by_operation"] == one["api_calls"]["by_operation"]  # the same calls, retried
    assert many["api_calls"]["retries"] > 0 and proxy.stats()["injected"] >= 5
