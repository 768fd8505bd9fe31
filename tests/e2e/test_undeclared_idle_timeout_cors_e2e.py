"""Through the real CLI against a moto server: alb.idle-timeout-covers-latency and cors.allows-frontend-origin
when the app's settings are not declared. The idle timeout is judged from CloudWatch's evidence (ELB 504s
beside the slowest TargetResponseTime, seeded here because moto records no traffic) and fixed from it; without
evidence, and for CORS without frontend_origins, the checks skip naming the setting to declare."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.conftest import diagnose_json

pytestmark = pytest.mark.slow

ALB = "production-shine-skincare-alb"
DOMAIN = "api.shineskincollective.com"
IDLE, CORS = "alb.idle-timeout-covers-latency", "cors.allows-frontend-origin"


def _by_id(report: dict) -> dict:
    return {f["check"]: f for f in report["findings"]}


def _undeclared_with_traffic(tmp_path, name: str, *, idle: int, elb_504: int, slowest: float) -> str:
    """healthy-undeclared, with an idle timeout and the last hours' load-balancer metrics a team would see."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"base: healthy-undeclared\nname: {name}\n"
                    f"load_balancers:\n  {ALB}:\n    idle_timeout: {idle}\n"
                    f"metrics:\n  {ALB}: {{HTTPCode_ELB_504_Count: {elb_504}, TargetResponseTime: {slowest}}}\n")
    return str(path)


def test_healthy_undeclared_skips_naming_the_settings(cli, scenario_server, tmp_path):
    endpoint = scenario_server("healthy-undeclared")
    log = tmp_path / "calls.log"
    proc = cli("diagnose", "--no-probe", "--endpoint-url", endpoint, "--region", "us-east-1", "--domain", DOMAIN,
               "--format", "json", env={"SHINE_OPS_CALL_LOG": str(log)})
    assert "Traceback" not in proc.stderr, proc.stderr
    by_id = _by_id(json.loads(proc.stdout))
    idle, cors = by_id[IDLE], by_id[CORS]
    assert idle["status"] in ("pass", "skip") and "latency_budget_s" in idle["summary"], idle["summary"]
    assert "CloudWatch recorded no request" in idle["summary"]  # moto holds no metrics: no evidence, no verdict
    assert idle["evidence"]["latency_budget_s"] is None
    assert cors["status"] == "skip" and "frontend_origins is not declared" in cors["summary"], cors["summary"]
    # one GetMetricData per path load balancer, nothing more
    assert log.read_text().split().count("cloudwatch.GetMetricData") == 1


def test_evidence_of_requests_cut_at_the_timeout_fails_and_is_fixed_from_it(cli, scenario_server, tmp_path):
    endpoint = scenario_server(_undeclared_with_traffic(tmp_path, "cut-at-15", idle=15, elb_504=37, slowest=14.8))
    base = ["--endpoint-url", endpoint, "--region", "us-east-1", "--domain", DOMAIN]
    f = _by_id(diagnose_json(cli, endpoint))[IDLE]
    assert f["status"] == "fail" and f["fix"] == "alb.set-idle-timeout", f["summary"]
    assert "37 request(s) with its own 504" in f["summary"] and "14.8 s" in f["summary"] and "15 s" in f["summary"]
    assert f["evidence"]["load_balancers"][0]["metrics"]["elb_504"] == 37
    plan = cli("fix", "alb-ecs", *base, "--only", "alb.set-idle-timeout")
    assert plan.returncode == 0 and "-> 45 s" in plan.stdout and "37 ELB 504(s)" in plan.stdout, plan.stdout
    applied = cli("fix", "alb-ecs", *base, "--only", "alb.set-idle-timeout", "--apply", "--yes")
    assert applied.returncode == 0 and "verified alb.set-idle-timeout" in applied.stdout + applied.stderr, (
        applied.stdout + applied.stderr)
    after = _by_id(diagnose_json(cli, endpoint))[IDLE]
    assert after["status"] == "pass" and "come from elsewhere" in after["summary"], after["summary"]


def test_504s_far_below_the_timeout_are_not_this_checks_failure_and_nothing_is_fixed(cli, scenario_server,
                                                                                        tmp_path):
    endpoint = scenario_server(_undeclared_with_traffic(tmp_path, "fast", idle=60, elb_504=5, slowest=2.0))
    f = _by_id(diagnose_json(cli, endpoint))[IDLE]
    assert f["status"] == "pass" and "5 ELB 504(s) come from elsewhere" in f["summary"], f["summary"]
    proc = cli("fix", "alb-ecs", "--endpoint-url", endpoint, "--region", "us-east-1", "--domain", DOMAIN,
               "--only", "alb.set-idle-timeout", "--apply", "--yes")
    calls = re.search(r"api calls: (\d+) total, (\d+) mutating", proc.stderr)
    assert proc.returncode == 0 and calls and int(calls.group(2)) == 0, proc.stdout + proc.stderr


def test_declared_budget_still_fails_the_shine_scenario(cli, scenario_server):
    f = _by_id(diagnose_json(cli, scenario_server("alb.idle-timeout-covers-latency")))[IDLE]
    assert f["status"] == "fail" and "15 s" in f["summary"] and "30 s" in f["summary"], f["summary"]
    assert f["evidence"]["latency_budget_s"] == 30
