"""The tortoise hygiene audit end to end: a plain moto server seeded with a scenario, the real CLI, JSON out."""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_no_traceback
from tests.e2e.conftest import diagnose_json

pytestmark = pytest.mark.slow

TORTOISE = ("--playbook", "tortoise")


def _by_id(report: dict) -> dict:
    return {f["check"]: f for f in report["findings"]}


def _names(f: dict) -> str:
    return f["summary"] + " " + " ".join(f["resources"])


def test_tortoise_scenario_fails_every_hygiene_check_naming_the_resources(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("tortoise"), *TORTOISE)
    assert report["playbook"] == "tortoise"
    assert report["target"]["scope"] == "account" and report["target"]["account"] == "123456789012"
    assert report["target"]["region"] == "us-east-1"
    by_id = _by_id(report)
    assert list(by_id) == ["alb.orphaned", "alb.overlapping", "tg.orphaned", "taskdef.stale-revisions", "sg.unused",
                           "cost.idle-resources"]
    assert all(f["status"] == "fail" for f in by_id.values()), {k: f["summary"] for k, f in by_id.items()}
    assert report["_exit"] == 0  # low and info: below the default --fail-on high

    orphaned = by_id["alb.orphaned"]
    assert "awseb--AWSEB-ydAUJ3jj2fwA" in orphaned["summary"] and "shine-api-alb-v2" in orphaned["summary"]
    assert not any("production-shine-skincare-alb" in r for r in orphaned["resources"])

    overlap = by_id["alb.overlapping"]
    for word in ("production-shine-skincare-alb", "shine-api-alb-v2", "production-shine-cluster/shine-api-gateway",
                 "keep production-shine-skincare-alb"):
        assert word in overlap["summary"], overlap

    tg = by_id["tg.orphaned"]
    assert any("production-shine-api-gateway-tg" in r for r in tg["resources"])
    assert not any("shine-api-tg-8000-fixed" in r or "shine-api-tg-v2" in r for r in tg["resources"])

    stale = by_id["taskdef.stale-revisions"]
    assert "shine-api-gateway has 8 ACTIVE revisions" in stale["summary"]
    assert [r.rsplit(":", 1)[1] for r in stale["resources"]] == ["1", "2", "3", "4"]
    assert stale["evidence"]["families"]["shine-api-gateway"]["in_use"] == [8]

    sg = by_id["sg.unused"]
    assert "shine-debug-ssh-sg" in sg["summary"] and len(sg["resources"]) == 1

    cost = by_id["cost.idle-resources"]
    lines = {l["resource"]: l for l in cost["evidence"]["lines"]}
    assert set(lines) == {"awseb--AWSEB-ydAUJ3jj2fwA", "shine-api-alb-v2", "production-shine-cluster/shine-api-legacy"}
    assert lines["shine-api-alb-v2"]["arithmetic"].endswith("= $16.20")
    assert lines["production-shine-cluster/shine-api-legacy"]["arithmetic"] == (
        "1 task x 720 h x (1 vCPU x $0.04048/vCPU-hour + 2 GB x $0.004445/GB-hour) = $35.55")
    assert cost["evidence"]["total_monthly_usd"] == 67.95 and "$67.95" in cost["summary"]
    # the audit lists task definitions, and describes only the idle service's one
    assert report["api_calls"]["by_operation"].get("ecs.DescribeTaskDefinition") == 1
    # every call it made is declared in account.PERMISSIONS (what the IAM policy is built from)
    from shine_ops.topology.account import PERMISSIONS

    prefix = {"elbv2": "elasticloadbalancing"}
    called = {prefix.get(op.split(".")[0], op.split(".")[0]) + ":" + op.split(".")[1]
              for op in report["api_calls"]["by_operation"]}
    assert called <= set(PERMISSIONS), called - set(PERMISSIONS)


def test_healthy_scenario_audit_flags_only_the_legacy_eb_alb_and_its_unused_target_groups(cli, scenario_server):
    """healthy keeps the Elastic Beanstalk ALB (no record) and two target groups nothing routes to: the request
    path is fine, but the account is not clean. Those are findings; the rest passes."""
    report = diagnose_json(cli, scenario_server("healthy"), *TORTOISE)
    by_id = _by_id(report)
    status = {k: f["status"] for k, f in by_id.items()}
    assert status == {"alb.orphaned": "fail", "alb.overlapping": "pass", "tg.orphaned": "fail",
                      "taskdef.stale-revisions": "pass", "sg.unused": "pass", "cost.idle-resources": "fail"}
    assert by_id["alb.orphaned"]["summary"].startswith("awseb--AWSEB-ydAUJ3jj2fwA is reached by no DNS record")
    assert by_id["cost.idle-resources"]["evidence"]["total_monthly_usd"] == 16.2
    assert report["_exit"] == 0
    assert diagnose_json(cli, scenario_server("healthy"), *TORTOISE, "--fail-on", "low")["_exit"] == 1


def test_tortoise_table_and_map_all(cli, scenario_server):
    endpoint = scenario_server("tortoise")
    conn = ("--endpoint-url", endpoint, "--region", "us-east-1")
    proc = cli("diagnose", *conn, *TORTOISE)
    assert_no_traceback(proc)
    assert proc.returncode == 0 and "alb.orphaned" in proc.stdout and "$67.95" in proc.stdout

    proc = cli("map", "--all", *conn, "--format", "json")
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    own = json.loads(proc.stdout)
    assert own["orphaned_load_balancers"] == ["awseb--AWSEB-ydAUJ3jj2fwA", "shine-api-alb-v2"]
    lbs = {lb["name"]: lb for lb in own["load_balancers"]}
    assert lbs["production-shine-skincare-alb"]["records"] == ["api.shineskincollective.com"]
    assert lbs["awseb--AWSEB-ydAUJ3jj2fwA"]["orphaned"] is True
    api = next(d for d in own["domains"] if d["name"] == "api.shineskincollective.com")
    assert api["branches"][0]["load_balancer"] == "production-shine-skincare-alb"
    svcs = {s for tg in lbs["production-shine-skincare-alb"]["target_groups"] for s in tg["services"]}
    assert "production-shine-cluster/shine-api-gateway" in svcs
    assert own["services_without_traffic_path"] == ["production-shine-cluster/shine-api-legacy"]

    proc = cli("map", "--all", *conn)
    assert_no_traceback(proc)
    assert "no record reaches it (orphaned)" in proc.stdout and "shine-api-alb-v2" in proc.stdout
