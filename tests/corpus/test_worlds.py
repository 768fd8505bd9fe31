"""The real Collector and evaluators over recorded-shape worlds, against verdicts written by hand from
docs/aws-behaviour.md (``tests/data/aws/worlds/<name>/verdicts.yaml``): one test per world and check, so a report
says exactly which verdicts hold."""

from __future__ import annotations

import json
import re

import pytest

from tests.corpus.worlds import diagnose_world, verdicts, world_names

WORLD_NAMES = world_names()
CASES = [(w, check) for w in WORLD_NAMES for check in verdicts(w)["verdicts"]]
# what an empty name leaves behind in a sentence: "forwards to , the", "(, x)", "group  of"
EMPTY_NAME = re.compile(r"(\bto|\bfor|\bof|\bin|\bby|\bat|\bon|\bnamed|:) ,|\(\s*,|,\s*,|\(\s*\)|''|\"\"|\s\s+\S")


def test_the_corpus_holds_the_worlds_the_issue_names():
    assert {"healthy-fargate", "empty-target-group", "public-task-open-port", "vpce-private-zone",
            "unrouted-target-group", "mid-rollout"} <= set(WORLD_NAMES)


@pytest.mark.parametrize("world", WORLD_NAMES)
def test_every_check_of_the_playbook_has_a_verdict(world):
    from shine_ops.engine.runner import load_catalogue

    playbook = load_catalogue().load_playbook("snail-trail")
    assert set(verdicts(world)["verdicts"]) == {e.check.id for e in playbook.entries}


@pytest.mark.parametrize("world,check", CASES, ids=[f"{w}:{c}" for w, c in CASES])
def test_verdict(world, check):
    want = verdicts(world)["verdicts"][check]
    run = diagnose_world(world)
    assert run.report is not None, f"{world}: the run ended early: {run.error}"
    f = run.finding(check)
    allowed = want["status"] if isinstance(want["status"], list) else [want["status"]]
    try:
        assert f.status in allowed, f"{check} is {f.status}, want {allowed}: {f.summary}"
        for text in want.get("contains", []):
            assert text in f.summary, f"{check} summary lacks {text!r}: {f.summary}"
        for text in want.get("not_contains", []):
            assert text not in f.summary, f"{check} summary has {text!r}: {f.summary}"
    except AssertionError:
        if want.get("pending"):
            pytest.xfail(f"pending: {want['pending']}")
        raise


@pytest.mark.parametrize("world", WORLD_NAMES)
def test_exit_code(world):
    run = diagnose_world(world)
    want = verdicts(world)["exit"]
    failing = [f"{f.check}: {f.summary}" for f in run.report.failing_at_or_above("high")] if run.report else []
    assert run.exit_code == want, f"exit {run.exit_code}, want {want} ({run.error or failing})"


@pytest.mark.parametrize("world", WORLD_NAMES)
def test_no_pass_judged_nothing_and_no_name_is_empty(world):
    """Issue 14 item 3: every ``pass`` names the resources it judged; no summary carries an empty name."""
    run = diagnose_world(world)
    for f in run.report.findings:
        if f.status == "pass":
            assert f.resources and all(f.resources), f"{f.check} passed naming nothing: {f.summary}"
        pending = verdicts(world)["verdicts"].get(f.check, {}).get("pending")
        if not pending:
            assert not EMPTY_NAME.search(f.summary), f"{f.check} has an empty name: {f.summary!r}"


@pytest.mark.parametrize("world", WORLD_NAMES)
def test_the_report_is_json_and_the_calls_are_counted(world):
    run = diagnose_world(world)
    doc = json.loads(json.dumps(run.report.to_json(), default=str))
    assert doc["schema"] == "shine-ops.report/v1"
    assert doc["api_calls"]["total"] == len(run.aws.log) > 0
    assert doc["api_calls"]["by_operation"]["sts.GetCallerIdentity"] == 1
    assert not doc["api_calls"].get("mutating")  # a diagnosis only reads
