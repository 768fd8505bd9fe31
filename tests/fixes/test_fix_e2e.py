"""fix alb-ecs end to end against a moto server: plan, apply, verify, journal, rollback, drift, interruption."""

from __future__ import annotations

import json
import re

import boto3
import pytest

from tests.e2e.conftest import diagnose_json

pytestmark = pytest.mark.slow
# the incident's root causes AWS's semantics support (its target group on 5000 is only a warn: ECS registers
# the task on the container port 8000)
ROOTS = ["dns.points-to-service-alb", "listener.routes-to-service", "sg.alb-to-task-ingress"]
DOMAIN = "api.shineskincollective.com"


def _fix(cli, endpoint, *args, env=None):
    return cli("fix", "alb-ecs", "--endpoint-url", endpoint, "--region", "us-east-1", "--domain", DOMAIN, *args,
               env=env)


def _calls(proc) -> tuple[int, int]:
    m = re.search(r"api calls: (\d+) total, (\d+) mutating", proc.stderr)
    assert m, proc.stderr
    return int(m.group(1)), int(m.group(2))


def _history(cli) -> list[dict]:
    return json.loads(cli("history", "--json", "--limit", "1000").stdout)


@pytest.fixture()
def cli(tmp_path):
    from tests.conftest import Cli

    return Cli(tmp_path)  # a state folder, so a journal, of its own


@pytest.fixture()
def incident(scenario_server):
    return scenario_server("shine-incident")


def test_plan_changes_nothing_then_one_apply_repairs_all_three_and_a_second_is_a_no_op(cli, incident):
    plan = _fix(cli, incident)
    assert plan.returncode == 0, plan.stderr
    assert _calls(plan)[1] == 0  # planning makes no mutating call
    for fix_id in ("sg.allow-alb-to-task", "listener.add-service-rule", "route53.point-alias-to-service-alb"):
        assert fix_id in plan.stdout
    # the group on 5000 whose target sits on 8000 is harmless: never replaced (AWS routes by the registered port)
    assert "tg.replace-with-container-port" not in plan.stdout
    assert plan.stdout.index("listener.add-service-rule") < plan.stdout.index("route53.point-alias-to-service-alb")
    assert diagnose_json(cli, incident)["root_causes"] == ROOTS  # still broken: nothing was changed
    assert _history(cli) == []

    applied = _fix(cli, incident, "--apply", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "applied, 3 change(s)" in applied.stdout
    after = diagnose_json(cli, incident)
    assert after["_exit"] == 0 and after["root_causes"] == [], after["findings"]

    again = _fix(cli, incident, "--apply", "--yes")
    assert again.returncode == 0 and "nothing to change" in again.stdout
    assert _calls(again)[1] == 0

    (apply_row,) = _history(cli)
    assert apply_row["status"] == "applied" and len(apply_row["changes"]) == 3
    assert {c["status"] for c in apply_row["changes"]} == {"verified"}
    back = cli("rollback", apply_row["apply_id"], "--yes")
    assert back.returncode == 0 and "restored and verified" in back.stdout, back.stdout + back.stderr
    assert diagnose_json(cli, incident)["root_causes"] == ROOTS


@pytest.mark.parametrize("fix_id,check", [
    ("sg.allow-alb-to-task", "sg.alb-to-task-ingress"),
    ("listener.add-service-rule", "listener.routes-to-service"),
])
def test_each_fix_repairs_its_check_and_rolls_back(cli, incident, fix_id, check):
    before = {f["check"]: f["status"] for f in diagnose_json(cli, incident)["findings"]}
    assert before[check] == "fail"
    proc = _fix(cli, incident, "--only", fix_id, "--apply", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {f["check"]: f["status"] for f in diagnose_json(cli, incident)["findings"]}[check] == "pass"
    apply_id = _history(cli)[-1]["apply_id"]
    assert cli("rollback", apply_id, "--yes").returncode == 0
    assert {f["check"]: f["status"] for f in diagnose_json(cli, incident)["findings"]}[check] == "fail"


def test_route53_fix_waits_until_the_load_balancer_passes_its_own_checks(cli, incident):
    proc = _fix(cli, incident, "--only", "route53.point-alias-to-service-alb", "--apply", "--yes")
    assert "route53.point-alias-to-service-alb not applied: the load balancer does not pass its own checks" in proc.stdout
    assert diagnose_json(cli, incident)["root_causes"] == ROOTS
    _fix(cli, incident, "--apply", "--yes")
    assert diagnose_json(cli, incident)["root_causes"] == []


def test_interrupted_apply_leaves_an_honest_journal_and_rollback_restores(cli, incident):
    sg_before = _sg_rules(incident)
    proc = _fix(cli, incident, "--apply", "--yes", env={"SHINE_OPS_FAULT_AFTER_CHANGES": "2"})
    assert proc.returncode == 1 and "fault injected after 2 changes" in proc.stdout
    (row,) = _history(cli)
    statuses = [c["status"] for c in row["changes"]]
    assert statuses.count("applied") + statuses.count("verified") == 2 and statuses[-1] == "failed"
    assert row["status"] == "failed"
    back = cli("rollback", row["apply_id"], "--yes")
    assert back.returncode == 0, back.stdout
    assert _sg_rules(incident) == sg_before
    report = diagnose_json(cli, incident)
    assert report["root_causes"] == ROOTS
    names = [tg["TargetGroupName"] for tg in _elb(incident).describe_target_groups()["TargetGroups"]]
    assert "shine-api-tg-fixed-8000" not in names


def test_saved_plan_is_refused_after_drift(cli, incident, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert _fix(cli, incident, "--plan-out", str(plan_file)).returncode == 0
    saved = json.loads(plan_file.read_text())
    assert saved["schema"] == "shine-ops.plan/v1" and len(saved["hash"]) == 64
    # someone else changes a resource of the plan meanwhile
    ec2 = boto3.client("ec2", endpoint_url=incident, region_name="us-east-1")
    first = saved["fixes"][0]["changes"][0]
    ec2.authorize_security_group_ingress(**first["call"]["params"])
    proc = _fix(cli, incident, "--plan", str(plan_file), "--apply", "--yes")
    assert proc.returncode == 1
    assert "the plan no longer matches the live state" in proc.stderr and first["resource"] in proc.stderr
    assert _history(cli) == []


def test_apply_without_yes_and_without_a_terminal_is_a_usage_error(cli, incident):
    proc = _fix(cli, incident, "--apply")
    assert proc.returncode == 2 and "needs a terminal" in proc.stderr


def test_expect_account_refuses_another_account(cli, incident):
    proc = _fix(cli, incident, "--expect-account", "999999999999")
    assert proc.returncode == 2 and "not 999999999999" in proc.stderr


def _elb(endpoint):
    return boto3.client("elbv2", endpoint_url=endpoint, region_name="us-east-1")


def _sg_rules(endpoint) -> list:
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
    return sorted(json.dumps(g["IpPermissions"], sort_keys=True) for g in ec2.describe_security_groups()["SecurityGroups"])


def test_kill_9_mid_apply_is_reconciled_and_rolled_back(cli, incident):
    """The process dies between a call and its journal row: the next run settles the intent from the live state."""
    sg_before = _sg_rules(incident)
    proc = _fix(cli, incident, "--only", "sg.allow-alb-to-task", "--apply", "--yes",
                env={"SHINE_OPS_KILL_AFTER_CALL": "1"})
    assert proc.returncode == -9
    (row,) = _history(cli)
    assert [c["status"] for c in row["changes"]] == ["intent"]
    assert _sg_rules(incident) != sg_before  # the call landed before the process died
    back = cli("rollback", row["apply_id"], "--yes")
    assert "was interrupted; the live state says it was applied" in back.stderr
    assert back.returncode == 0 and "restored and verified" in back.stdout, back.stdout + back.stderr
    assert _sg_rules(incident) == sg_before


def test_kill_9_right_after_a_create_is_reconciled_with_what_it_created_and_rolled_back(cli, scenario_server):
    """Killed between CreateTargetGroup and its journal row: the next run finds the new group by name, journals
    the inverse that names its ARN, and rollback deletes it (no orphan left behind by shine-ops itself)."""
    incident = scenario_server("tg.port-matches-container")  # a task registered on 5000: the twin is planned
    elbv2 = boto3.client("elbv2", endpoint_url=incident, region_name="us-east-1")
    names = lambda: sorted(t["TargetGroupName"] for t in elbv2.describe_target_groups()["TargetGroups"])  # noqa: E731
    before = names()
    proc = _fix(cli, incident, "--only", "tg.replace-with-container-port", "--apply", "--yes",
                env={"SHINE_OPS_KILL_AFTER_CALL": "1"})
    assert proc.returncode == -9
    assert len(names()) == len(before) + 1  # the twin group was created before the process died
    (row,) = _history(cli)
    back = cli("rollback", row["apply_id"], "--yes")
    assert "was interrupted; the live state says it was applied" in back.stderr
    assert "rollback can remove it" in back.stderr, back.stderr
    assert back.returncode == 0 and "restored and verified" in back.stdout, back.stdout + back.stderr
    assert names() == before


def test_team_journal_in_s3_shared_and_locked(incident, tmp_path):
    """Two people, two machines (two state folders), one journal in S3: B sees and rolls back A's change, and
    nobody applies while a lock is held."""
    from tests.conftest import Cli

    s3 = boto3.client("s3", endpoint_url=incident, region_name="us-east-1")
    s3.create_bucket(Bucket="shine-ops-state")
    for who in ("alice", "bob"):
        d = tmp_path / who
        d.mkdir()
        (d / "shine-ops.yaml").write_text("state: s3://shine-ops-state/prod\n")
    alice, bob = Cli(tmp_path / "alice" / ".state"), Cli(tmp_path / "bob" / ".state")
    args = ("fix", "alb-ecs", "--endpoint-url", incident, "--region", "us-east-1", "--domain", DOMAIN,
            "--only", "sg.allow-alb-to-task", "--apply", "--yes")
    proc = alice(*args, cwd=tmp_path / "alice")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (tmp_path / "alice" / ".state" / "journal.db").exists()  # the journal lives in S3
    hist = json.loads(bob("history", "--json", "--endpoint-url", incident, "--region", "us-east-1",
                          cwd=tmp_path / "bob").stdout)
    assert len(hist) == 1 and hist[0]["changes"][0]["fix"] == "sg.allow-alb-to-task"
    s3.put_object(Bucket="shine-ops-state", Key="prod/lock", Body=b'{"who": "carol", "since": "now"}')
    locked = bob("rollback", hist[0]["apply_id"], "--yes", "--endpoint-url", incident, "--region", "us-east-1",
                 cwd=tmp_path / "bob")
    assert locked.returncode == 3 and "locked by carol" in locked.stderr
    s3.delete_object(Bucket="shine-ops-state", Key="prod/lock")
    back = bob("rollback", hist[0]["apply_id"], "--yes", "--endpoint-url", incident, "--region", "us-east-1",
               cwd=tmp_path / "bob")
    assert back.returncode == 0 and "restored and verified" in back.stdout, back.stdout + back.stderr
    kinds = [a["kind"] for a in json.loads(alice("history", "--json", "--endpoint-url", incident, "--region",
                                                 "us-east-1", cwd=tmp_path / "alice").stdout)]
    assert kinds == ["fix", "rollback"]
    assert "lock" not in [o["Key"].split("/")[-1] for o in s3.list_objects_v2(Bucket="shine-ops-state")["Contents"]]


def test_an_edited_plan_is_refused(cli, incident, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert _fix(cli, incident, "--plan-out", str(plan_file)).returncode == 0
    saved = json.loads(plan_file.read_text())
    saved["fixes"][0]["changes"][0]["call"]["params"]["IpPermissions"][0]["UserIdGroupPairs"] = []
    saved["fixes"][0]["changes"][0]["call"]["params"]["IpPermissions"][0]["IpRanges"] = [{"CidrIp": "0.0.0.0/0"}]
    plan_file.write_text(json.dumps(saved))
    proc = _fix(cli, incident, "--plan", str(plan_file), "--apply", "--yes")
    assert proc.returncode == 2 and "was edited after it was saved" in proc.stderr
    assert _history(cli) == []


def test_a_rollback_cannot_be_rolled_back(cli, incident):
    assert _fix(cli, incident, "--only", "sg.allow-alb-to-task", "--apply", "--yes").returncode == 0
    apply_id = _history(cli)[-1]["apply_id"]
    assert cli("rollback", apply_id, "--yes").returncode == 0
    rb_id = _history(cli)[-1]["apply_id"]
    proc = cli("rollback", rb_id, "--yes")
    assert proc.returncode == 2 and "is a rollback; it cannot be rolled back" in proc.stderr
