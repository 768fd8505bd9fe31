"""What decides whether a plan may be applied, as pure functions: the scope guard of a saved ``fix alb-ecs`` plan
(every resource and id it names lies on today's request path), the saved ``fix tortoise`` plan's staleness, the
saved plan file's hash and account, and the gates declared on the fixes (data, not a test of a fix id)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from shine_ops.engine.catalogue import Catalogue
from shine_ops.errors import UsageError
from shine_ops.fixes import ApiCall, Change, FixPlan, Gate, Plan, load_fixes
from shine_ops.fixes.plan import load_saved_plan
from shine_ops.fixes.scope import (ids_in, off_path, path_resources, refuse_off_path, refuse_stale_account_plan,
                                   require_account_plan)
from shine_ops.fixes.verify import gate_checker, judge_account_findings
from tests.evaluators.builders import LB_ARN, LEGACY_ARN, LST, SVC_ARN, TG_OLD, TG_SVC, build

OTHER_SG = "sg-0ther"


def report_of(ctx) -> SimpleNamespace:
    """What the scope guard reads of a diagnosis: its snapshot and request path."""
    return SimpleNamespace(snapshot=ctx.snapshot, request_path=ctx.path)


def change(resource: str, **params) -> Change:
    return Change(key="k#1", fix="sg.allow-alb-to-task", resource=resource, description="d",
                  call=ApiCall("ec2", "AuthorizeSecurityGroupIngress", params), before={}, after={})


def plan_of(*changes: Change, scope: str | None = None, fix: str = "sg.allow-alb-to-task") -> Plan:
    target = {"scope": scope} if scope else {"domain": "api.example.com"}
    return Plan(plan_id="p1", created_at="2026-01-01T00:00:00+00:00", tool_version="0", account="123456789012",
                region="us-east-1", endpoint=None, target=target,
                fixes=[FixPlan(fix=fix, check="c", summary="s", changes=list(changes), verify=["c"])])


# -- ids_in ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("params,ids", [
    ({"GroupId": "sg-task"}, ["sg-task"]),
    ({"ListenerArn": LST, "Actions": [{"TargetGroupArn": TG_SVC}]}, [LST, TG_SVC]),
    ({"VpcId": "vpc-1", "Subnets": ["subnet-a"]}, ["vpc-1", "subnet-a"]),
    ({"TargetGroupArn": {"$ref": "tg#1.TargetGroupArn"}}, []),  # made by an earlier change of the plan
    ({"Description": "sg-x named in free text", "Comment": "arn:aws:x"}, []),
    ({"Port": 8000, "Name": "svc-8000", "Protocol": "HTTP"}, []),
])
def test_ids_in_names_every_aws_id_a_call_holds(params, ids):
    assert ids_in(params) == ids


# -- the path scope guard --------------------------------------------------------------------------------------
def test_path_resources_hold_the_diagnosed_path_and_nothing_else():
    ctx = build()
    allowed = path_resources(report_of(ctx))
    for on_path in (LB_ARN, LST, TG_SVC, SVC_ARN, "sg-alb", "sg-task", "subnet-a", "Z1/api.example.com"):
        assert on_path in allowed, on_path
    assert LEGACY_ARN not in allowed and TG_OLD not in allowed and "sg-legacy" not in allowed


@pytest.mark.parametrize("ch,outside", [
    (change("sg-task", GroupId="sg-task", IpPermissions=[{"UserIdGroupPairs": [{"GroupId": "sg-alb"}]}]), False),
    (change("Z1/api.example.com/A", HostedZoneId="Z1"), False),  # a record: its resource extends an allowed one
    (change("sg-legacy", GroupId="sg-legacy"), True),  # the resource is off the path
    (change("sg-task", GroupId="sg-task", IpPermissions=[{"UserIdGroupPairs": [{"GroupId": OTHER_SG}]}]), True),
    (change("", GroupId="sg-task"), True),  # names no resource at all
], ids=["on-path", "record", "off-path-resource", "off-path-id-in-call", "no-resource"])
def test_off_path_catches_a_resource_or_an_id_outside_the_path(ch, outside):
    allowed = path_resources(report_of(build()))
    assert (off_path([ch], allowed) == [ch]) is outside


def test_a_saved_plan_edited_to_reach_off_the_path_is_refused_naming_the_resource():
    report = report_of(build())
    refuse_off_path(plan_of(change("sg-task", GroupId="sg-task")), report)
    with pytest.raises(UsageError, match="off the diagnosed request path: sg-legacy"):
        refuse_off_path(plan_of(change("sg-task", GroupId="sg-task"), change("sg-legacy", GroupId="sg-legacy")),
                        report)


# -- the account plan's guards ---------------------------------------------------------------------------------
def _deletion(resource: str) -> Change:
    return Change(key="d#1", fix="sg.delete-unused", resource=resource, description="d",
                  call=ApiCall("ec2", "DeleteSecurityGroup", {"GroupId": resource}), before={}, after={})


def test_a_saved_account_plan_is_applied_only_while_the_audit_plans_the_same_changes():
    saved = plan_of(_deletion("sg-debug"), scope="account", fix="sg.delete-unused")
    refuse_stale_account_plan(saved, saved, "p.json", allow_delete=True)
    with pytest.raises(UsageError, match="no longer flags .*: sg-debug"):
        refuse_stale_account_plan(saved, plan_of(scope="account", fix="sg.delete-unused"), "p.json", allow_delete=True)
    with pytest.raises(UsageError, match=r"p.json deletes 1 resource\(s\)") as err:
        refuse_stale_account_plan(saved, saved, "p.json", allow_delete=False)
    assert err.value.hint == "add --allow-delete"
    with pytest.raises(UsageError, match="is a plan of fix alb-ecs, not of fix tortoise"):
        require_account_plan(plan_of(), "p.json")


def test_account_verification_passes_a_check_that_still_fails_only_on_untouched_resources():
    f = lambda status, *res: SimpleNamespace(check="sg.unused", status=status, resources=list(res))  # noqa: E731
    assert judge_account_findings([f("fail", "sg-other")], {"sg-debug"}) == {"sg.unused": "pass"}
    assert judge_account_findings([f("fail", "sg-debug")], {"sg-debug"}) == {"sg.unused": "fail"}
    assert judge_account_findings([f("skip")], {"sg-debug"}) == {"sg.unused": "pass"}
    assert judge_account_findings([f("warn", "sg-debug")], {"sg-debug"}) == {"sg.unused": "warn"}


# -- the saved plan file ---------------------------------------------------------------------------------------
def test_a_saved_plan_is_refused_when_edited_made_elsewhere_or_not_a_plan(tmp_path):
    plan = plan_of(change("sg-task", GroupId="sg-task"))
    good = tmp_path / "p.json"
    good.write_text(json.dumps(plan.to_json()))
    assert load_saved_plan(str(good), {"Account": "123456789012"}).hash == plan.hash
    with pytest.raises(UsageError, match="made for account 123456789012, this is 999999999999"):
        load_saved_plan(str(good), {"Account": "999999999999"})
    edited = plan.to_json()
    edited["fixes"][0]["changes"][0]["call"]["params"]["GroupId"] = "sg-legacy"
    (tmp_path / "e.json").write_text(json.dumps(edited))
    with pytest.raises(UsageError, match="was edited after it was saved"):
        load_saved_plan(str(tmp_path / "e.json"), {"Account": "123456789012"})
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(UsageError, match="not a shine-ops plan"):
        load_saved_plan(str(tmp_path / "x.json"), {})


# -- gates: data on the fix ------------------------------------------------------------------------------------
@pytest.mark.parametrize("verdicts,why", [
    ({"a.x": "pass", "b.y": "warn"}, None),
    ({"a.x": "fail", "b.y": "pass"}, "the load balancer is not ready (a.x)"),
    ({"a.x": "fail", "b.y": "fail"}, "the load balancer is not ready (a.x, b.y)"),
    ({"a.x": "skip"}, None),  # no evidence is no failure
    ({}, None),
])
def test_a_gate_holds_a_fix_back_while_one_of_its_checks_fails(verdicts, why):
    assert Gate(checks=("a.x", "b.y"), refuse="the load balancer is not ready").why_not(verdicts) == why


def test_the_dns_change_waits_for_its_load_balancer_and_every_gate_names_catalogue_checks():
    gated = {f: s.gate for f, s in load_fixes().items() if s.gate is not None}
    assert set(gated) == {"route53.point-alias-to-service-alb"}
    assert gated["route53.point-alias-to-service-alb"].checks == (
        "listener.routes-to-service", "tg.port-matches-container", "sg.alb-to-task-ingress")
    checks = Catalogue.load().checks
    for spec_gate in gated.values():
        assert set(spec_gate.checks) <= set(checks)
    # a gated fix runs after the fixes that repair its gate checks
    order = {c: s.order for s in load_fixes().values() for c in s.checks}
    dns = load_fixes()["route53.point-alias-to-service-alb"]
    assert all(order[c] < dns.order for c in dns.gate.checks if c in order)


def test_fixes_without_a_gate_are_never_held_and_nothing_is_collected_for_them():
    gate = gate_checker(aws=None, target=None, settings=None, catalogue=None)  # collecting would need all of these
    for fix_id, spec in load_fixes().items():
        if spec.gate is None:
            assert gate(FixPlan(fix=fix_id, check=spec.checks[0], summary="", changes=[], verify=[])) is None
