"""``fix alb-ecs --apply --wait``: time to green after the configuration verified, or, at the deadline, what is
still not green, with the verified changes kept (never rolled back)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import boto3
import pytest

from tests.conftest import assert_no_traceback

DOMAIN = "api.shineskincollective.com"
# The task security group misses the load balancer on 8000 (a fix adds it) AND the app listens on PORT=5000 while
# the container port is 8000 (no fix can change what the image listens on): the targets never turn healthy.
UNFIXABLE = """\
name: sg-fixed-but-app-on-another-port
base: tg.targets-healthy
description: "The security-group gap has a fix; the app listening on 5000 instead of 8000 has none."
task_definitions:
  shine-api-gateway:
    containers:
      shine-api-gateway:
        environment:
          PORT: "5000"
"""


@pytest.fixture()
def cli(tmp_path):
    from tests.conftest import Cli

    return Cli(tmp_path)  # a state folder, so a journal, of its own


def _fix(cli, endpoint, *args):
    return cli("fix", "alb-ecs", "--endpoint-url", endpoint, "--region", "us-east-1", "--domain", DOMAIN, *args)


# --------------------------------------------------------------------------- the waiting loop (pure)
@dataclass
class _F:
    check: str
    status: str
    summary: str = ""


def test_wait_for_traffic_reports_time_to_green_and_names_what_is_not_green_at_the_deadline():
    from shine_ops.fixes.wait import report_lines, wait_for_traffic

    clock = [0.0]

    def sleep(s: float) -> None:
        clock[0] += s

    said: list[str] = []
    rounds = iter([{"tg.targets-healthy": _F("tg.targets-healthy", "warn", "1 target(s) are initial"),
                    "smoke.health": _F("smoke.health", "fail", "GET /health answered 502")},
                   {"tg.targets-healthy": _F("tg.targets-healthy", "pass"), "smoke.health": _F("smoke.health", "fail")},
                   {"tg.targets-healthy": _F("tg.targets-healthy", "pass"), "smoke.health": _F("smoke.health", "pass")}])
    result = wait_for_traffic(lambda: next(rounds), timeout_s=60, say=said.append, interval_s=5,
                              clock=lambda: clock[0], sleep=sleep)
    assert result.green and result.elapsed_s == 10 and result.exit_code == 0
    assert said[0].startswith("waiting for traffic (0 s): tg.targets-healthy warn: 1 target(s) are initial")
    assert report_lines(result, 60)[-1] == ("green after 10 s: traffic reaches healthy targets and the live "
                                             "health check passes through the domain")

    clock[0] = 0.0
    stuck = {"tg.targets-healthy": _F("tg.targets-healthy", "fail", "1 of 1 target(s) is unhealthy"),
             "smoke.health": _F("smoke.health", "skip", "This sandbox has no load-balancer emulator.")}
    result = wait_for_traffic(lambda: stuck, timeout_s=7, say=said.append, interval_s=2, clock=lambda: clock[0],
                              sleep=sleep)
    assert not result.green and result.exit_code == 1 and result.elapsed_s == 7
    assert result.not_green == {"tg.targets-healthy": "fail: 1 of 1 target(s) is unhealthy"}
    lines = report_lines(result, 7)
    assert lines[0] == "note: smoke.health not waited for: This sandbox has no load-balancer emulator."
    assert "the changes that verified are kept" in lines[1]
    assert lines[2] == "  tg.targets-healthy fail: 1 of 1 target(s) is unhealthy"


def test_wait_needs_apply(cli):
    proc = cli("fix", "alb-ecs", "--domain", DOMAIN, "--wait")
    assert proc.returncode == 2 and "--wait waits for traffic after changes: it needs --apply" in proc.stderr
    assert_no_traceback(proc)


# --------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_apply_wait_on_the_incident_prints_the_time_to_green(cli, scenario_server, monkeypatch):
    monkeypatch.setenv("SHINE_OPS_SANDBOX_HEALTH_SCALE", "0.02")  # 30 s x 5 -> 3 s
    endpoint = scenario_server("shine-incident")
    proc = _fix(cli, endpoint, "--apply", "--yes", "--wait", "--wait-timeout", "60", "--no-probe")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    assert re.search(r"^apply \S+: applied, \d+ change\(s\) applied", proc.stdout, re.M), proc.stdout
    assert re.search(r"^green after \d+ s: traffic reaches healthy targets$", proc.stdout, re.M), proc.stdout
    assert "waiting up to 60 s for traffic: tg.targets-healthy must pass" in proc.stderr


@pytest.mark.slow
def test_apply_wait_times_out_on_an_unfixable_target_names_it_and_keeps_the_verified_change(
        cli, scenario_server, monkeypatch, tmp_path):
    monkeypatch.setenv("SHINE_OPS_SANDBOX_HEALTH_SCALE", "0.02")
    scenario = tmp_path / "unfixable.yaml"
    scenario.write_text(UNFIXABLE)
    endpoint = scenario_server(str(scenario))
    proc = _fix(cli, endpoint, "--apply", "--yes", "--wait", "--wait-timeout", "4", "--no-probe")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    out = proc.stdout
    assert re.search(r"^apply \S+: applied, 1 change\(s\) applied", out, re.M), out
    assert "not green after 4 s (--wait-timeout): the changes that verified are kept; still not green:" in out
    assert re.search(r"^  tg.targets-healthy fail: 1 of 1 target\(s\) of \S+ is unhealthy "
                     r"\(Target.FailedHealthChecks\)", out, re.M), out
    assert "rolled back" not in out + proc.stderr

    (apply_row,) = json.loads(cli("history", "--json").stdout)  # one apply, no rollback after it
    assert apply_row["kind"] == "fix" and apply_row["status"] == "applied"
    assert [(c["fix"], c["status"]) for c in apply_row["changes"]] == [("sg.allow-alb-to-task", "verified")]
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
    opened = [p for g in ec2.describe_security_groups()["SecurityGroups"] for p in g["IpPermissions"]
              if p.get("FromPort") == 8000 and p.get("UserIdGroupPairs")]
    assert opened, "the verified security-group change was rolled back"
