"""fix tortoise end to end against a moto server seeded with the tortoise scenario: plan, apply, verify,
journal (with the saved configuration), rollback of what can be rolled back, and what it must leave alone."""

from __future__ import annotations

import json
import re

import boto3
import pytest

from shine_ops.iam import action_of
from tests.conftest import assert_no_traceback
from tests.e2e.conftest import diagnose_json

pytestmark = pytest.mark.slow
STALE = [f"shine-api-gateway:{r}" for r in (1, 2, 3, 4)]


@pytest.fixture()
def cli(tmp_path):
    from tests.conftest import Cli

    return Cli(tmp_path)  # a journal of its own


@pytest.fixture()
def tortoise(scenario_server):
    return scenario_server("tortoise")


def _fix(cli, endpoint, *args, **kw):
    proc = cli("fix", "tortoise", "--endpoint-url", endpoint, "--region", "us-east-1", *args, **kw)
    assert_no_traceback(proc)
    return proc


def _mutating(proc) -> int:
    m = re.search(r"api calls: (\d+) total, (\d+) mutating", proc.stderr)
    assert m, proc.stderr
    return int(m.group(2))


def _client(endpoint, name):
    return boto3.client(name, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def _audit(cli, endpoint) -> dict:
    return {f["check"]: f for f in diagnose_json(cli, endpoint, "--playbook", "tortoise")["findings"]}


def _sg(endpoint, name) -> list[dict]:
    return _client(endpoint, "ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"]


def _tg(endpoint, name) -> dict | None:
    try:
        return _client(endpoint, "elbv2").describe_target_groups(Names=[name])["TargetGroups"][0]
    except Exception:  # noqa: BLE001 - TargetGroupNotFound
        return None


def _history(cli) -> list[dict]:
    return json.loads(cli("history", "--json", "--limit", "1000").stdout)


def test_fix_tortoise_plan_changes_nothing_and_deletes_wait_for_allow_delete(cli, tortoise):
    proc = _fix(cli, tortoise)
    assert proc.returncode == 0, proc.stderr
    assert _mutating(proc) == 0
    out = proc.stdout
    for name in STALE:
        assert f"ecs.DeregisterTaskDefinition             task-definition/{name}" in out
    assert "shine-api-gateway:5" not in out.split("keeps")[0]  # the newest four and the one in use are kept
    assert "tg.delete-orphaned  (repairs tg.orphaned)  NOT APPLIED: deletes: add --allow-delete" in out
    assert "sg.delete-unused  (repairs sg.unused)  NOT APPLIED: deletes: add --allow-delete" in out
    assert "target group production-shine-api-gateway-tg" in out and "shine-debug-ssh-sg" in out
    assert out.count("! AWS cannot undo this step") == 6  # 4 deregistrations, 1 target group, 1 security group
    assert "4 change(s) in 1 fix(es)" in out
    assert _history(cli) == []


def test_fix_tortoise_apply_then_rollback_recreates_what_it_deleted_and_says_what_it_cannot(cli, tortoise, tmp_path):
    log = tmp_path / "calls.log"
    old_sg = _sg(tortoise, "shine-debug-ssh-sg")[0]
    old_tg = _tg(tortoise, "production-shine-api-gateway-tg")
    assert old_sg and old_tg

    applied = _fix(cli, tortoise, "--allow-delete", "--apply", "--yes", env={"SHINE_OPS_CALL_LOG": str(log)})
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "applied, 6 change(s)" in applied.stdout
    assert _mutating(applied) == 6
    apply_id = re.search(r"apply (a\S+): applied", applied.stdout).group(1)

    audit = _audit(cli, tortoise)
    assert audit["taskdef.stale-revisions"]["status"] == "pass"
    assert audit["sg.unused"]["status"] == "pass"
    assert not any("production-shine-api-gateway-tg" in r for r in audit["tg.orphaned"]["resources"])
    assert audit["alb.orphaned"]["status"] == "fail"  # load balancers are the team's call: never deleted
    assert _sg(tortoise, "shine-debug-ssh-sg") == [] and _tg(tortoise, "production-shine-api-gateway-tg") is None
    ecs = _client(tortoise, "ecs")
    assert ecs.describe_task_definition(taskDefinition="shine-api-gateway:1")["taskDefinition"]["status"] == "INACTIVE"
    assert ecs.describe_task_definition(taskDefinition="shine-api-gateway:8")["taskDefinition"]["status"] == "ACTIVE"

    # the journal holds what is needed to recreate each deleted thing, and says which steps AWS cannot undo
    [entry] = _history(cli)
    assert entry["apply_id"] == apply_id and entry["status"] == "applied"
    by_fix = {}
    for c in entry["changes"]:
        by_fix.setdefault(c["fix"], []).append(c)
        assert c["status"] == "verified" and c["undo_note"]
    saved_td = json.loads(by_fix["taskdef.deregister-stale-revisions"][0]["saved"])
    assert saved_td["family"] == "shine-api-gateway" and saved_td["containerDefinitions"][0]["name"]
    saved_sg = json.loads(by_fix["sg.delete-unused"][0]["saved"])
    assert saved_sg["ingress"][0]["FromPort"] == 22 and saved_sg["create"]["GroupName"] == "shine-debug-ssh-sg"

    back = cli("rollback", apply_id, "--yes", "--endpoint-url", tortoise, "--region", "us-east-1",
               env={"SHINE_OPS_CALL_LOG": str(log)})
    assert_no_traceback(back)
    assert back.returncode == 0, back.stdout + back.stderr
    assert back.stdout.count("not undone (AWS cannot undo it)") == 4
    assert "restored and verified (2 change(s); 4 AWS cannot undo)" in back.stdout
    [sg] = _sg(tortoise, "shine-debug-ssh-sg")
    assert sg["GroupId"] != old_sg["GroupId"] and sg["VpcId"] == old_sg["VpcId"]
    assert sg["Description"] == old_sg["Description"]
    assert [(p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in sg["IpPermissions"]] == [(22, ["0.0.0.0/0"])]
    assert [p["IpProtocol"] for p in sg["IpPermissionsEgress"]] == [p["IpProtocol"] for p in old_sg["IpPermissionsEgress"]]
    tg = _tg(tortoise, "production-shine-api-gateway-tg")
    assert tg["TargetGroupArn"] != old_tg["TargetGroupArn"]
    for key in ("Port", "Protocol", "VpcId", "TargetType", "HealthCheckPath", "HealthCheckPort", "Matcher"):
        assert tg[key] == old_tg[key], key
    assert ecs.describe_task_definition(taskDefinition="shine-api-gateway:1")["taskDefinition"]["status"] == "INACTIVE"
    audit = _audit(cli, tortoise)
    assert audit["sg.unused"]["status"] == "fail" and audit["taskdef.stale-revisions"]["status"] == "pass"
    # every call it made is in the generated fix policy (least privilege, and nothing missing)
    called = {action_of(line.strip()) for line in log.read_text().splitlines() if line.strip()}
    policy = {a for st in json.loads(cli("iam-policy", "--mode", "fix").stdout)["Statement"] for a in st["Action"]}
    assert {"ec2:DeleteSecurityGroup", "ec2:CreateSecurityGroup", "elasticloadbalancing:CreateTargetGroup",
            "ecs:DeregisterTaskDefinition"} <= called
    assert called <= policy, called - policy
    statuses = {c["fix"]: c["status"] for c in _history(cli)[0]["changes"]}
    assert statuses == {"taskdef.deregister-stale-revisions": "verified", "tg.delete-orphaned": "rolled_back",
                        "sg.delete-unused": "rolled_back"}


def test_fix_tortoise_leaves_alone_what_runs_is_tagged_keep_or_is_suppressed(cli, tortoise, tmp_path):
    ecs, ec2 = _client(tortoise, "ecs"), _client(tortoise, "ec2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:1]
    groups = [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] == "default"][:1]
    ecs.run_task(cluster="production-shine-cluster", taskDefinition="shine-api-gateway:2", launchType="FARGATE",
                 networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups}})
    # (a one-off task on an old revision: deregistering it would orphan what runs)
    ec2.create_tags(Resources=[_sg(tortoise, "shine-debug-ssh-sg")[0]["GroupId"]],
                    Tags=[{"Key": "shine-ops:keep", "Value": "forensics"}])
    cfg = tmp_path / "shine-ops.yaml"
    cfg.write_text("suppressions:\n  - check: tg.orphaned\n    resource: production-shine-api-gateway-tg\n"
                   "    reason: the v3 migration registers into it next week\n    owner: sam\n"
                   "    expires: 2999-01-01\n")
    proc = _fix(cli, tortoise, "--allow-delete", "--config", str(cfg), "--apply", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "left alone: shine-api-gateway:2: a task runs it" in out
    assert "left alone: " in out and "shine-debug-ssh-sg): tagged shine-ops:keep" in out
    assert ("left alone: production-shine-api-gateway-tg: suppressed in shine-ops.yaml by sam until 2999-01-01: "
            "the v3 migration registers into it next week") in out
    assert "applied, 3 change(s)" in out
    assert ecs.describe_task_definition(taskDefinition="shine-api-gateway:2")["taskDefinition"]["status"] == "ACTIVE"
    assert _sg(tortoise, "shine-debug-ssh-sg") and _tg(tortoise, "production-shine-api-gateway-tg")


def test_fix_tortoise_saved_plan_applied_exactly_refused_once_stale_or_without_allow_delete(cli, tortoise, tmp_path):
    saved = tmp_path / "cleanup.json"
    plan = _fix(cli, tortoise, "--allow-delete", "--only", "sg.delete-unused", "--plan-out", str(saved))
    assert plan.returncode == 0, plan.stderr
    assert json.loads(saved.read_text())["target"]["scope"] == "account"
    no_flag = _fix(cli, tortoise, "--plan", str(saved), "--apply", "--yes")
    assert no_flag.returncode == 2 and "deletes 1 resource(s)" in no_flag.stderr and "--allow-delete" in no_flag.stderr
    wrong = cli("fix", "alb-ecs", "--endpoint-url", tortoise, "--region", "us-east-1", "--domain",
                "api.shineskincollective.com", "--plan", str(saved), "--apply", "--yes")
    assert wrong.returncode == 2, wrong.stderr
    ok = _fix(cli, tortoise, "--plan", str(saved), "--allow-delete", "--apply", "--yes")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "applied, 1 change(s)" in ok.stdout and _sg(tortoise, "shine-debug-ssh-sg") == []
    again = _fix(cli, tortoise, "--plan", str(saved), "--allow-delete", "--apply", "--yes")
    assert again.returncode == 2 and "no longer flags" in again.stderr
    assert len(_history(cli)) == 1  # the refused runs changed nothing
