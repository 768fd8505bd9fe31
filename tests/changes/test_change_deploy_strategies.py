"""The deploy strategies through the change runner, in-process moto: a rolling deploy and a blue-green deploy
land, are interrupted by a failed call, and are rolled back (a failed gate is a rollback of what was done).

moto never starts tasks, so "steady" is what the tests decide: the waits are replaced, nothing else is."""

from __future__ import annotations

import json

import pytest

from shine_ops.changes import ChangeRunner
from shine_ops.engine.finding import Finding
from shine_ops.faults import ChangeFaults
from tests.changes.world import ecs_service, service_td, statuses

STEADY = {"desired": 1, "running": 1, "targets": [("10.0.0.9", 8000, "healthy", "")], "events": [], "stopped": []}


def _no_gate() -> list[Finding]:
    return []


def _failing_gate() -> list[Finding]:
    return [Finding("smoke.health", "Health", "fail", "high", "/ready answered 503 (degraded)")]


# ---- rolling ---------------------------------------------------------------------------------------------------

def _roll(aws, journal, world, gates=_no_gate, steady=True, monkeypatch=None):
    from shine_ops import deploy

    monkeypatch.setattr(deploy, "wait_steady", lambda *a, **k: (steady, "steady" if steady else "not steady after 1 s"))
    return deploy.roll_out(aws, journal, who="me", report=world.report, new_td=world.new_td, gates=gates,
                           say=lambda _m: None, deadline_s=1)


def test_rolling_deploy_lands_and_rollback_reverts_it(aws, journal, calls, monkeypatch):
    world = ecs_service(aws)
    calls.clear()
    result = _roll(aws, journal, world, monkeypatch=monkeypatch)
    assert result.status == "landed" and result.apply_id.startswith("d") and service_td(aws).endswith(":2")
    assert calls == ["ecs.RegisterTaskDefinition", "ecs.UpdateService"]
    assert statuses(journal, result.apply_id) == ["applied", "applied"]
    _rb, problems, count = ChangeRunner(aws, journal).rollback_id(result.apply_id)
    assert (problems, count) == ([], 2) and service_td(aws) == world.td_arn
    assert calls[2:] == ["ecs.UpdateService", "ecs.DeregisterTaskDefinition"]


def test_rolling_deploy_failed_gate_is_a_rollback_of_the_update(aws, journal, calls, monkeypatch):
    world = ecs_service(aws)
    calls.clear()
    result = _roll(aws, journal, world, gates=_failing_gate, monkeypatch=monkeypatch)
    assert result.status == "rolled_back" and result.exit_code == 1 and service_td(aws) == world.td_arn
    assert result.notes[-1] == "rolled back to api:1: steady again"
    assert calls == ["ecs.RegisterTaskDefinition", "ecs.UpdateService", "ecs.UpdateService"]
    assert statuses(journal, result.apply_id) == ["applied", "rolled_back"]  # the revision is kept, registered
    undo = [a for a in journal.applies() if a["kind"] == "rollback"]
    assert len(undo) == 1 and undo[0]["status"] == "restored" and result.apply_id in undo[0]["target"]
    assert journal.apply_row(result.apply_id)["status"] == "rolled_back"


def test_rolling_deploy_interrupted_leaves_an_honest_journal_and_rolls_back(aws, journal, calls, monkeypatch):
    world = ecs_service(aws)
    calls.clear()
    monkeypatch.setenv("SHINE_OPS_FAULT_AFTER_CHANGES", "1")
    with pytest.raises(RuntimeError, match="fault injected"):
        _roll(aws, journal, world, monkeypatch=monkeypatch)
    (row,) = [a for a in journal.applies() if a["kind"] == "deploy"]
    assert row["status"] == "failed" and statuses(journal, row["apply_id"]) == ["applied", "failed"]
    monkeypatch.delenv("SHINE_OPS_FAULT_AFTER_CHANGES")
    _rb, problems, count = ChangeRunner(aws, journal).rollback_id(row["apply_id"])
    assert (problems, count) == ([], 1) and calls[-1] == "ecs.DeregisterTaskDefinition"
    assert service_td(aws) == world.td_arn


# ---- blue-green ------------------------------------------------------------------------------------------------

def _blue_green(aws, journal, world, monkeypatch, *, direct=lambda tg, targets: [], steps=(50, 100), faults=None):
    from shine_ops.bluegreen import shift
    from shine_ops.bluegreen.direct import Gates

    monkeypatch.setattr(shift, "wait_green", lambda *a, **k: (True, STEADY))
    monkeypatch.setattr(shift, "green_status", lambda *a, **k: STEADY)
    if faults is not None:
        monkeypatch.setattr("shine_ops.faults.change_faults", lambda: faults)
    return shift.blue_green(aws, journal, who="me", report=world.report, new_td=world.new_td,
                            gates=Gates(domain=_no_gate, direct=direct), say=lambda _m: None, steps=steps,
                            deadline_s=1)


def _default_actions(aws, world) -> list[dict]:
    return aws.call("elbv2", "DescribeListeners", ListenerArns=[world.listener])["Listeners"][0]["DefaultActions"]


def _services(aws) -> dict[str, str]:
    found = aws.call("ecs", "DescribeServices", cluster="c", services=["api", "api-green"])["services"]
    return {s["serviceName"]: s["status"] for s in found}


def _tg_names(aws) -> set[str]:
    return {t["TargetGroupName"] for t in aws.call("elbv2", "DescribeTargetGroups")["TargetGroups"]}


def test_bluegreen_lands_in_steps_and_rollback_restores_the_listener(aws, journal, calls, monkeypatch):
    world = ecs_service(aws, with_lb=True)
    calls.clear()
    before = _default_actions(aws, world)
    result = _blue_green(aws, journal, world, monkeypatch)
    assert result.status == "landed" and _services(aws) == {"api": "ACTIVE", "api-green": "ACTIVE"}
    rows = journal.changes(result.apply_id)
    green_tg = json.loads(next(r for r in rows if r["change_key"] == "deploy#green-tg")["result"])["TargetGroupArn"]
    forward = _default_actions(aws, world)[0]["ForwardConfig"]["TargetGroups"]
    weights = {t["TargetGroupArn"]: t["Weight"] for t in forward}
    assert weights == {world.tg: 0, green_tg: 100}
    shifts = [r["description"].split(": ")[1] for r in rows
              if r["change_key"].startswith(("deploy#attach", "deploy#shift"))]
    assert shifts == ["blue 100 / green 0", "blue 50 / green 50", "blue 0 / green 100"]
    _rb, problems, _n = ChangeRunner(aws, journal).rollback_id(result.apply_id)
    assert problems == [] and _default_actions(aws, world) == before and _services(aws)["api-green"] == "INACTIVE"


def test_bluegreen_failed_gate_shifts_back_at_once_by_replaying_what_it_journaled(aws, journal, calls, monkeypatch):
    world = ecs_service(aws, with_lb=True)
    calls.clear()
    before, tgs = _default_actions(aws, world), _tg_names(aws)
    gate_calls = []

    def direct(tg, targets):  # green passes the steady gate, then fails at 50%
        gate_calls.append(tg)
        return [] if len(gate_calls) == 1 else _failing_gate()

    result = _blue_green(aws, journal, world, monkeypatch, direct=direct)
    assert result.status == "rolled_back" and "gate 50%: smoke.health (Health)" in result.notes[0]
    assert "listener actions restored exactly" in result.notes[2]
    assert _default_actions(aws, world) == before and _tg_names(aws) == tgs
    assert _services(aws)["api-green"] == "INACTIVE"
    undo = calls[calls.index("elbv2.ModifyListener") + 2:]  # after attach and the 50% shift
    assert undo == ["elbv2.ModifyListener", "ecs.UpdateService", "ecs.DeleteService", "elbv2.DeleteTargetGroup"]
    done = statuses(journal, result.apply_id)
    assert done[0] == "applied" and set(done[1:]) == {"rolled_back"}  # the revision stays registered
    (rb,) = [a for a in journal.applies() if a["kind"] == "rollback"]
    assert rb["status"] == "restored" and journal.apply_row(result.apply_id)["status"] == "rolled_back"


def test_bluegreen_interrupted_half_way_is_aborted_by_rolling_back_what_was_done(aws, journal, calls, monkeypatch):
    world = ecs_service(aws, with_lb=True)
    calls.clear()
    before, tgs = _default_actions(aws, world), _tg_names(aws)
    with pytest.raises(RuntimeError, match="fault injected after 3 changes"):
        _blue_green(aws, journal, world, monkeypatch, faults=ChangeFaults(fail_after=3))
    (row,) = [a for a in journal.applies() if a["kind"] == "deploy"]
    assert row["status"] == "failed" and "listeners restored, green removed" in row["note"]
    assert statuses(journal, row["apply_id"]) == ["applied", "rolled_back", "rolled_back", "failed"]
    assert _default_actions(aws, world) == before and _tg_names(aws) == tgs
    assert _services(aws)["api-green"] == "INACTIVE"
