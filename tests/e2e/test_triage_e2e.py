"""On-call triage: a symptom leads to the first broken link, with the context around it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_no_traceback

pytestmark = pytest.mark.slow
ARGS = ("--region", "us-east-1", "--domain", "api.shineskincollective.com", "--no-probe")


def _triage(cli, endpoint, symptom, *extra):
    proc = cli("triage", "--symptom", symptom, "--endpoint-url", endpoint, *ARGS, *extra)
    assert_no_traceback(proc)
    return proc


def test_504_names_the_dns_record_first_with_context(cli, scenario_server):
    endpoint = scenario_server("shine-incident")
    proc = _triage(cli, endpoint, "504", "--format", "json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "shine-ops.triage/v1"
    assert doc["first_broken_link"]["check"] == "dns.points-to-service-alb"
    assert doc["fix_command"] == "shine-ops fix alb-ecs --only route53.point-alias-to-service-alb"
    ctx = doc["context"]
    assert any("Booting worker" in line for line in ctx["log_lines"])
    eb = ctx["load_balancer_metrics"]["awseb--AWSEB-ydAUJ3jj2fwA"]["HTTPCode_ELB_5XX_Count"]
    assert sum(p["sum"] for p in eb) == 37
    assert ctx["recent_changes"]["task_definition_revisions"] == ["shine-api-gateway:1"]
    table = _triage(cli, endpoint, "504")
    assert table.stdout.index("First broken link: dns.points-to-service-alb") < table.stdout.index("Newest log lines")


def test_each_symptom_orders_the_causes_it_can_have(cli, scenario_server):
    endpoint = scenario_server("shine-incident")
    firsts = {s: json.loads(_triage(cli, endpoint, s, "--format", "json").stdout)["first_broken_link"]["check"]
              for s in ("502", "503", "unhealthy-targets", "dns")}
    # the incident's target group on 5000 is a warn (its task sits on 8000): the 502 path's first failure is
    # the unhealthy targets that the missing ingress explains
    assert firsts == {"502": "tg.targets-healthy", "503": "listener.routes-to-service",
                      "unhealthy-targets": "sg.alb-to-task-ingress", "dns": "dns.points-to-service-alb"}


def test_restarting_service_shows_stopped_tasks_and_events(cli, scenario_server):
    endpoint = scenario_server("ecs.tasks-not-crashing")
    doc = json.loads(_triage(cli, endpoint, "restarting", "--format", "json").stdout)
    assert doc["first_broken_link"]["check"] == "ecs.tasks-not-crashing"
    assert doc["context"]["stopped_tasks"] and doc["context"]["service_events"]


def test_unknown_symptom_is_a_usage_error(cli):
    proc = cli("triage", "--symptom", "slow")
    assert proc.returncode == 2 and "--symptom must be one of" in proc.stderr
