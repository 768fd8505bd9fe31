"""The fix strategies through the change runner (``fix alb-ecs`` and ``fix tortoise``): apply and verify, an
interrupted apply (a failed call, a process killed between a call and its row), and rollback."""

from __future__ import annotations

import json

import pytest

from shine_ops.fixes import ApiCall, Change, FixPlan, Plan, Probe, undo_ref
from shine_ops.fixes.apply import Applier
from shine_ops.fixes.cleanup import deletion
from tests.changes.world import DieAfterCall, Died, statuses

PASS = {"check": "pass"}


def _plan(*changes: Change, fix: str = "sg.allow-alb-to-task") -> Plan:
    return Plan(plan_id="p0123456789", created_at="now", tool_version="t", account=None, region="us-east-1",
                endpoint=None, target={}, fixes=[FixPlan(fix=fix, check="check", summary="s", changes=list(changes),
                                                         verify=["check"])])


def _groups(aws) -> tuple[str, str]:
    vpc = aws.call("ec2", "DescribeVpcs")["Vpcs"][0]["VpcId"]
    alb = aws.call("ec2", "CreateSecurityGroup", GroupName="alb", Description="d", VpcId=vpc)["GroupId"]
    task = aws.call("ec2", "CreateSecurityGroup", GroupName="task", Description="d", VpcId=vpc)["GroupId"]
    return alb, task


def _allow(n: int, alb: str, task: str, port: int) -> Change:
    """sg.allow-alb-to-task's shape: one ingress rule from the load balancer's group, revoked by its inverse."""
    perm = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": alb}]}
    return Change(key=f"sg.allow-alb-to-task#{n}", fix="sg.allow-alb-to-task", resource=task,
                  description=f"allow {port} from {alb}", before={}, after={},
                  call=ApiCall("ec2", "AuthorizeSecurityGroupIngress", {"GroupId": task, "IpPermissions": [perm]}),
                  inverse=[ApiCall("ec2", "RevokeSecurityGroupIngress", {"GroupId": task, "IpPermissions": [perm]})],
                  probe=Probe(ApiCall("ec2", "DescribeSecurityGroups", {"GroupIds": [task]}),
                              f"SecurityGroups[0].IpPermissions[?FromPort==`{port}`] | length(@)", 0))


def _ports(aws, group: str) -> list[int]:
    perms = aws.call("ec2", "DescribeSecurityGroups", GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]
    return sorted(p["FromPort"] for p in perms)


def test_fix_applies_verifies_and_rolls_back_through_the_runner(aws, journal):
    alb, task = _groups(aws)
    applier = Applier(aws, journal)
    result = applier.apply(_plan(_allow(1, alb, task, 8000), _allow(2, alb, task, 8001)), verify=lambda fp: PASS)
    assert result.status == "applied" and result.exit_code == 0 and _ports(aws, task) == [8000, 8001]
    assert result.apply_id.startswith("a") and result.apply_id.endswith("-p01234")
    assert statuses(journal, result.apply_id) == ["verified", "verified"]
    rb_id, problems, count = applier.rollback(result.apply_id)
    assert (problems, count) == ([], 2) and _ports(aws, task) == []
    assert journal.apply_row(rb_id)["status"] == "restored"


def test_fix_that_fails_verification_is_rolled_back_at_once(aws, journal):
    alb, task = _groups(aws)
    result = Applier(aws, journal).apply(_plan(_allow(1, alb, task, 8000)), verify=lambda fp: {"check": "fail"})
    assert result.status == "rolled_back" and result.exit_code == 1 and _ports(aws, task) == []
    assert "failed verification (check: fail) and was rolled back" in result.notes[0]


def test_fix_interrupted_by_a_failed_call_leaves_an_honest_journal_and_rolls_back(aws, journal, monkeypatch):
    alb, task = _groups(aws)
    monkeypatch.setenv("SHINE_OPS_FAULT_AFTER_CHANGES", "1")  # switched on from outside, as the e2e tests do
    applier = Applier(aws, journal)
    result = applier.apply(_plan(_allow(1, alb, task, 8000), _allow(2, alb, task, 8001)), verify=lambda fp: PASS)
    assert result.status == "failed" and "fault injected after 1 changes" in result.notes[-1]
    assert f"shine-ops rollback {result.apply_id}" in result.notes[-1]
    assert statuses(journal, result.apply_id) == ["applied", "failed"] and _ports(aws, task) == [8000]
    _rb, problems, count = applier.rollback(result.apply_id)
    assert (problems, count) == ([], 1) and _ports(aws, task) == []


def test_fix_killed_after_its_call_is_reconciled_and_rolled_back(aws, journal):
    alb, task = _groups(aws)
    applier = Applier(aws, journal)
    applier.runner.faults = DieAfterCall(1)
    with pytest.raises(Died):
        applier.apply(_plan(_allow(1, alb, task, 8000)), verify=lambda fp: PASS)
    (apply_row,) = journal.applies()
    assert statuses(journal, apply_row["apply_id"]) == ["intent"] and _ports(aws, task) == [8000]
    again = Applier(aws, journal)
    assert "the live state says it was applied" in again.reconcile()[0]
    _rb, problems, _n = again.rollback(apply_row["apply_id"])
    assert problems == [] and _ports(aws, task) == []


def _unused_group(aws) -> tuple[str, Change]:
    """``fix tortoise``'s shape (sg.delete-unused): delete a group, saved first; the inverse recreates it with
    its rule (``undo_ref``: the new group's id), and its probe finds it by name."""
    vpc = aws.call("ec2", "DescribeVpcs")["Vpcs"][0]["VpcId"]
    gid = aws.call("ec2", "CreateSecurityGroup", GroupName="old", Description="d", VpcId=vpc)["GroupId"]
    perm = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
    aws.call("ec2", "AuthorizeSecurityGroupIngress", GroupId=gid, IpPermissions=[perm])
    create = {"GroupName": "old", "Description": "d", "VpcId": vpc}
    change = deletion("sg.delete-unused", 1, resource=gid, label="old", kind="security group", why="unused",
                      call=ApiCall("ec2", "DeleteSecurityGroup", {"GroupId": gid}),
                      inverse=[ApiCall("ec2", "CreateSecurityGroup", create, results={"GroupId": "GroupId"}),
                               ApiCall("ec2", "AuthorizeSecurityGroupIngress",
                                       {"GroupId": undo_ref(0, "GroupId"), "IpPermissions": [perm]})],
                      saved={"create": create, "ingress": [perm]},
                      probe=ApiCall("ec2", "DescribeSecurityGroups",
                                    {"Filters": [{"Name": "group-name", "Values": ["old"]}]}),
                      probe_path="length(SecurityGroups)", new_id="group id")
    return gid, change


def _old(aws) -> list[dict]:
    return aws.call("ec2", "DescribeSecurityGroups",
                    Filters=[{"Name": "group-name", "Values": ["old"]}])["SecurityGroups"]


def test_cleanup_deletes_then_rollback_recreates_it_under_a_new_id_with_its_rules(aws, journal):
    gid, change = _unused_group(aws)
    applier = Applier(aws, journal)
    result = applier.apply(_plan(change, fix="sg.delete-unused"), verify=lambda fp: PASS)
    assert result.status == "applied" and _old(aws) == []
    row = journal.change(result.applied[0])
    assert json.loads(row["saved"])["create"]["GroupName"] == "old" and "under a new group id" in row["undo_note"]
    _rb, problems, _n = applier.rollback(result.apply_id)
    (back,) = _old(aws)
    assert problems == [] and back["GroupId"] != gid and [p["FromPort"] for p in back["IpPermissions"]] == [22]


def test_cleanup_killed_after_the_delete_is_reconciled_and_rolled_back(aws, journal):
    _gid, change = _unused_group(aws)
    applier = Applier(aws, journal)
    applier.runner.faults = DieAfterCall(1)
    with pytest.raises(Died):
        applier.apply(_plan(change, fix="sg.delete-unused"), verify=lambda fp: PASS)
    (apply_row,) = journal.applies()
    assert statuses(journal, apply_row["apply_id"]) == ["intent"] and _old(aws) == []
    again = Applier(aws, journal)
    assert "the live state says it was applied" in again.reconcile()[0]
    _rb, problems, _n = again.rollback(apply_row["apply_id"])
    assert problems == [] and len(_old(aws)) == 1
