"""The change runner itself: ids, intent -> call -> complete, the fault hooks switched on from the environment,
rollback order (steps newest first, one step in its own order) and cover (the oldest change of a resource
restores it), and reconciling a run that died between a call and its journal row."""

from __future__ import annotations

import json
import re

import pytest

from shine_ops.changes import ChangeRunner, ids
from shine_ops.faults import ChangeFaults, NoChangeFaults, change_faults
from shine_ops.fixes import ApiCall, Change, Probe, ref
from tests.changes.world import DieAfterCall, Died, statuses


def _sg_change(vpc: str, name: str, key: str | None = None) -> Change:
    """Create a security group; the inverse deletes it by the id the call returned."""
    key = key or f"test#{name}"
    return Change(key=key, fix="test", resource=name, description=f"create {name}",
                  call=ApiCall("ec2", "CreateSecurityGroup", {"GroupName": name, "Description": "d", "VpcId": vpc}),
                  before={}, after={"GroupName": name}, results={"GroupId": "GroupId"},
                  inverse=[ApiCall("ec2", "DeleteSecurityGroup", {"GroupId": ref(key, "GroupId")})],
                  probe=Probe(ApiCall("ec2", "DescribeSecurityGroups",
                                      {"Filters": [{"Name": "group-name", "Values": [name]}]}),
                              "length(SecurityGroups)", 0))


def _names(aws) -> set[str]:
    return {g["GroupName"] for g in aws.call("ec2", "DescribeSecurityGroups")["SecurityGroups"]}


def _vpc(aws) -> str:
    return aws.call("ec2", "DescribeVpcs")["Vpcs"][0]["VpcId"]


def test_ids_are_minted_in_one_place_kind_time_and_tail():
    assert re.fullmatch(r"a\d{14}-plan12", ids.new_apply_id(ids.FIX, "plan1234"))
    assert re.fullmatch(r"[dr]\d{14}-[0-9a-f]{6}", ids.new_apply_id(ids.DEPLOY))
    assert ids.change_id("d1-abc", 3) == "d1-abc-03"
    with pytest.raises(ValueError):
        ids.new_apply_id("x")


def test_change_faults_are_switched_on_from_the_environment_only(monkeypatch):
    monkeypatch.delenv("SHINE_OPS_FAULT_AFTER_CHANGES", raising=False)
    monkeypatch.delenv("SHINE_OPS_KILL_AFTER_CALL", raising=False)
    assert type(change_faults()) is NoChangeFaults
    monkeypatch.setenv("SHINE_OPS_FAULT_AFTER_CHANGES", "2")
    faults = change_faults()
    assert faults == ChangeFaults(fail_after=2, kill_after_call=0)
    faults.before_call(1)
    with pytest.raises(RuntimeError, match="fault injected after 2 changes"):
        faults.before_call(2)


def test_a_change_is_an_intent_then_applied_with_the_inverse_naming_what_it_made(aws, journal):
    runner = ChangeRunner(aws, journal)
    run = runner.begin(ids.FIX, tail="p1", target={})
    done = run.do(_sg_change(_vpc(aws), "one"))
    row = journal.change(done.change_id)
    assert done.change_id == f"{run.apply_id}-01" and done["GroupId"].startswith("sg-")
    assert row["status"] == "applied" and json.loads(row["result"]) == {"GroupId": done["GroupId"]}
    assert json.loads(row["inverse"])[0]["params"] == {"GroupId": done["GroupId"]}
    assert json.loads(row["probe"])["before"] == 0 and done.probe["before"] == 0
    assert run.landed([done]) == {"test#one landed": "pass"}


def test_a_failed_call_is_journaled_failed_and_the_run_knows_which(aws, journal):
    runner = ChangeRunner(aws, journal, faults=ChangeFaults(fail_after=1))
    run = runner.begin(ids.FIX, target={})
    run.do(_sg_change(_vpc(aws), "one"))
    with pytest.raises(RuntimeError, match="fault injected after 1 changes"):
        run.do(_sg_change(_vpc(aws), "two"))
    assert statuses(journal, run.apply_id) == ["applied", "failed"]
    assert run.failure.change_id == f"{run.apply_id}-02" and run.failure.landed is None
    assert "two" not in _names(aws)


def test_rollback_replays_steps_newest_first_and_one_step_in_its_own_order(aws, journal, calls):
    vpc = _vpc(aws)
    runner = ChangeRunner(aws, journal)
    run = runner.begin(ids.DEPLOY, target={})
    first = run.do(_sg_change(vpc, "a"))
    step = [run.do(_sg_change(vpc, n, key="test#step")) for n in ("b", "c")]  # one step, two resources
    calls.clear()
    rb_id, problems = run.rollback([first, *step], "test", whole=True)
    assert problems == [] and not {"a", "b", "c"} & _names(aws)
    undone = [json.loads(r["call"])["params"]["GroupId"] for r in journal.changes(rb_id)]
    assert undone == [step[0]["GroupId"], step[1]["GroupId"], first["GroupId"]]
    assert journal.apply_row(rb_id)["kind"] == "rollback" and json.loads(journal.apply_row(rb_id)["target"]) == {
        "undoes": [run.apply_id], "reason": "test"}
    assert statuses(journal, run.apply_id) == ["rolled_back"] * 3


def test_cover_replays_only_the_oldest_change_of_a_resource(aws, journal, calls):
    """Three changes to one security group's description tag: the oldest inverse restores it; the newer rows are
    marked rolled back with it and replay nothing."""
    vpc = _vpc(aws)
    group = aws.call("ec2", "CreateSecurityGroup", GroupName="g", Description="d", VpcId=vpc)["GroupId"]
    runner = ChangeRunner(aws, journal)
    run = runner.begin(ids.DEPLOY, target={})
    values = ["v0", "v1", "v2", "v3"]
    done = []
    for before, after in zip(values, values[1:]):
        done.append(run.do(Change(
            key=f"test#tag-{after}", fix="test", resource=group, description=f"tag {after}",
            call=ApiCall("ec2", "CreateTags", {"Resources": [group], "Tags": [{"Key": "k", "Value": after}]}),
            before={}, after={}, inverse=[ApiCall("ec2", "CreateTags", {"Resources": [group],
                                                                        "Tags": [{"Key": "k", "Value": before}]})])))
    calls.clear()
    rb_id, problems = run.rollback(done, "test", cover=lambda row: row["resource"])
    assert problems == [] and calls == ["ec2.CreateTags"]
    tags = aws.call("ec2", "DescribeTags", Filters=[{"Name": "resource-id", "Values": [group]}])["Tags"]
    assert [t["Value"] for t in tags] == ["v0"]
    assert statuses(journal, run.apply_id) == ["rolled_back"] * 3


def test_a_run_killed_between_call_and_row_is_reconciled_from_the_live_state(aws, journal):
    runner = ChangeRunner(aws, journal, faults=DieAfterCall(1))
    run = runner.begin(ids.FIX, target={})
    with pytest.raises(Died):
        run.do(_sg_change(_vpc(aws), "one"))
    assert statuses(journal, run.apply_id) == ["intent"] and "one" in _names(aws)
    later = ChangeRunner(aws, journal)
    notes = later.reconcile()
    assert notes == [f"{run.apply_id}-01 was interrupted; the live state says it was applied"]
    assert statuses(journal, run.apply_id) == ["applied"]
