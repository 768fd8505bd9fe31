"""The journal and the rollback engine in-process (moto in-process): an older journal file gains the columns the
careful cleanup writes, and an inverse chain whose first call fails stops with a clear problem, never a guess."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict

import pytest
from moto import mock_aws

from shine_ops.fixes import ApiCall, Change, Probe, undo_ref
from shine_ops.fixes.journal import Journal


OLD_SCHEMA = """
CREATE TABLE applies (apply_id TEXT PRIMARY KEY, plan_id TEXT, plan_hash TEXT, kind TEXT, who TEXT, account TEXT,
  region TEXT, endpoint TEXT, target TEXT, started_at TEXT, finished_at TEXT, status TEXT, note TEXT);
CREATE TABLE changes (change_id TEXT PRIMARY KEY, apply_id TEXT, seq INTEGER, fix TEXT, change_key TEXT,
  resource TEXT, description TEXT, call TEXT, before TEXT, after TEXT, inverse TEXT, probe TEXT, result TEXT,
  status TEXT, verification TEXT, started_at TEXT, finished_at TEXT, error TEXT, undoes TEXT);
INSERT INTO changes (change_id, apply_id, seq, fix, status) VALUES ('a1-01', 'a1', 1, 'sg.allow-alb-to-task', 'applied');
"""


def test_a_journal_from_an_older_version_gains_the_new_columns_and_keeps_its_rows(tmp_path):
    path = tmp_path / "journal.db"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.close()
    journal = Journal(path)
    assert journal.change("a1-01")["status"] == "applied" and journal.change("a1-01")["saved"] is None
    ch = Change(key="k", fix="sg.delete-unused", resource="sg-1", description="delete", before={}, after={},
                call=ApiCall("ec2", "DeleteSecurityGroup", {"GroupId": "sg-1"}), reversible=False,
                undo_note="recreated under a new id", saved={"create": {"GroupName": "x"}})
    journal.intent("a2-01", "a2", 1, ch, asdict(ch.call), [])
    row = journal.change("a2-01")
    assert json.loads(row["saved"]) == {"create": {"GroupName": "x"}} and row["undo_note"] == "recreated under a new id"


@pytest.fixture()
def aws(monkeypatch):
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        from shine_ops.aws import Aws, ConnectionOptions

        yield Aws(ConnectionOptions(region="us-east-1"))


def test_an_inverse_chain_resolves_its_own_results_and_stops_cleanly_when_its_first_call_fails(aws, tmp_path):
    from shine_ops.fixes.apply import Applier

    vpc = aws.call("ec2", "DescribeVpcs")["Vpcs"][0]["VpcId"]
    journal = Journal(tmp_path / "j.db")
    applier = Applier(aws, journal)
    perm = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}

    def deleted(name: str, cid: str) -> None:  # journal a "deleted" group whose inverse recreates it
        inverse = [ApiCall("ec2", "CreateSecurityGroup", {"GroupName": name, "Description": "d", "VpcId": vpc},
                           results={"GroupId": "GroupId"}),
                   ApiCall("ec2", "AuthorizeSecurityGroupIngress", {"GroupId": undo_ref(0, "GroupId"),
                                                                    "IpPermissions": [perm]})]
        ch = Change(key=cid, fix="sg.delete-unused", resource=name, description=f"delete {name}", before={},
                    after={}, call=ApiCall("ec2", "DeleteSecurityGroup", {}), inverse=inverse, reversible=False,
                    probe=Probe(ApiCall("ec2", "DescribeSecurityGroups",
                                        {"Filters": [{"Name": "group-name", "Values": [name]}]}),
                                "length(SecurityGroups)", 1))
        journal.start_apply(cid[:2], plan_id="p", plan_hash="h", kind="fix", who=None, account=None,
                            region="us-east-1", endpoint=None, target={})
        journal.intent(cid, cid[:2], 1, ch, asdict(ch.call), [asdict(i) for i in inverse])
        journal.complete(cid, "applied", inverse=[asdict(i) for i in inverse])
        journal.set_probe(cid, asdict(ch.probe))

    deleted("gone", "a1-01")  # really absent: recreated with its rule on the new id
    rb, problems = applier.rollback_changes(["a1-01"])
    assert problems == []
    [g] = aws.call("ec2", "DescribeSecurityGroups", Filters=[{"Name": "group-name", "Values": ["gone"]}])["SecurityGroups"]
    assert [p["FromPort"] for p in g["IpPermissions"]] == [22]
    assert journal.change("a1-01")["status"] == "rolled_back"

    aws.call("ec2", "CreateSecurityGroup", GroupName="taken", Description="d", VpcId=vpc)
    deleted("taken", "a2-01")  # the name is taken again: the create fails and its rule is not applied to a guess
    rb, problems = applier.rollback_changes(["a2-01"])
    assert any("CreateSecurityGroup) failed" in p for p in problems), problems
    assert any("AuthorizeSecurityGroupIngress) skipped: undo#0.GroupId is not known yet" in p for p in problems)
    assert journal.change("a2-01")["status"] == "applied" and journal.apply_row(rb)["status"] == "failed"
