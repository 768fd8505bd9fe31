"""Blue-green deploys on the sandbox: gated weighted shift to a green service, shift back on a failed gate,
``rollback`` of a landed deploy, ``--finalize``. One sandbox for the module (the tests run in file order)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import boto3
import pytest
import requests

from tests.conftest import assert_no_traceback
from tests.e2e.conftest import sandbox_up

pytestmark = pytest.mark.slow
CLUSTER, BLUE, GREEN = "production-shine-cluster", "shine-api-gateway", "shine-api-gateway-green"
SVC = ["--cluster", CLUSTER, "--service", BLUE]
HOST = "api.shineskincollective.com"
FAST = ["--deadline", "60", "--probe-timeout", "10", "--yes"]


@pytest.fixture(scope="module")
def sandbox(cli):
    st = sandbox_up(cli, "healthy")
    yield st
    cli("sandbox", "down")


def _clients(st: dict):
    kw = dict(endpoint_url=st["endpoint"], region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    return boto3.client("ecs", **kw), boto3.client("elbv2", **kw)


def _https_listener(elbv2) -> dict:
    lb = next(x for x in elbv2.describe_load_balancers()["LoadBalancers"]
              if x["LoadBalancerName"] == "production-shine-skincare-alb")
    return next(x for x in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
                if x["Port"] == 443)


def _active(ecs, name: str) -> bool:
    found = ecs.describe_services(cluster=CLUSTER, services=[name])["services"]
    return any(s["status"] == "ACTIVE" for s in found)


def _tg_exists(elbv2, arn: str) -> bool:
    try:
        elbv2.describe_target_groups(TargetGroupArns=[arn])
        return True
    except elbv2.exceptions.TargetGroupNotFoundException:
        return False


def _routes(st: dict, n: int) -> list[str]:
    """The ``X-Shine-Ops-Simulated`` route of ``n`` requests through the load-balancer emulator (all 200)."""
    out = []
    for _ in range(n):
        r = requests.get(st["alb_endpoint"] + "/health", headers={"Host": HOST}, timeout=10)
        assert r.status_code == 200, r.text
        out.append(r.headers["X-Shine-Ops-Simulated"])
    return out


def _apply_id(stdout: str) -> str:
    return next(line.split()[1].rstrip(":") for line in stdout.splitlines() if line.startswith("deploy d"))


def _journal(cli, apply_id: str) -> list[sqlite3.Row]:
    db = sqlite3.connect(str(Path(cli.state_dir) / "journal.db"))
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT * FROM changes WHERE apply_id=? ORDER BY seq", (apply_id,)).fetchall()
    finally:
        db.close()


def test_bluegreen_failed_gate_shifts_back_and_removes_green(cli, sandbox):
    ecs, elbv2 = _clients(sandbox)
    before = _https_listener(elbv2)["DefaultActions"]
    bad = cli("deploy", "--sandbox", *SVC, "--strategy", "blue-green", "--model-uri", "/nonexistent/model.keras",
              *FAST, timeout=200)
    assert_no_traceback(bad)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "gate green-steady" in bad.stdout and "degraded" in bad.stdout  # which gate, with the evidence
    assert "listener actions restored exactly" in bad.stdout
    assert _https_listener(elbv2)["DefaultActions"] == before
    assert not _active(ecs, GREEN)
    rows = _journal(cli, _apply_id(bad.stdout))
    green_tg = json.loads(next(r for r in rows if r["change_key"] == "deploy#green-tg")["result"])["TargetGroupArn"]
    assert not _tg_exists(elbv2, green_tg)
    assert all("target group shine-api-tg-8000-fixed |" in r for r in _routes(sandbox, 3))  # blue still serves
    applies = {a["apply_id"]: a for a in json.loads(cli("history", "--json").stdout)}
    undo = [a for a in applies.values() if a["kind"] == "rollback" and _apply_id(bad.stdout) in a["target"]]
    assert applies[_apply_id(bad.stdout)]["status"] == "rolled_back" and undo and undo[0]["status"] == "restored"
    # rolling the failed deploy back again only deregisters its unused revision: it never brings green back
    again = cli("rollback", _apply_id(bad.stdout), "--yes")
    assert_no_traceback(again)
    assert not _active(ecs, GREEN) and _https_listener(elbv2)["DefaultActions"] == before


def test_bluegreen_landed_then_rollback_restores_listener(cli, sandbox):
    ecs, elbv2 = _clients(sandbox)
    before = _https_listener(elbv2)["DefaultActions"]
    good = cli("deploy", "--sandbox", *SVC, "--strategy", "blue-green", "--env", "LOG_LEVEL=info", *FAST, timeout=200)
    assert good.returncode == 0, good.stdout + good.stderr
    apply_id = _apply_id(good.stdout)
    assert f"shine-ops rollback {apply_id}" in good.stdout and "--finalize" in good.stdout
    assert _active(ecs, GREEN) and _active(ecs, BLUE)
    rb = cli("rollback", apply_id, "--yes")
    assert_no_traceback(rb)
    assert rb.returncode == 0, rb.stdout + rb.stderr
    assert _https_listener(elbv2)["DefaultActions"] == before
    assert not _active(ecs, GREEN) and _active(ecs, BLUE)


def test_bluegreen_shifts_in_steps_lands_and_finalizes(cli, sandbox, tmp_path):
    ecs, elbv2 = _clients(sandbox)
    log = tmp_path / "calls.log"
    good = cli("deploy", "--sandbox", *SVC, "--strategy", "blue-green", "--env", "LOG_LEVEL=debug", *FAST,
               env={"SHINE_OPS_CALL_LOG": str(log)}, timeout=200)
    assert_no_traceback(good)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "gates passed: green-steady, 10%, 50%, 100%" in good.stdout
    rows = _journal(cli, _apply_id(good.stdout))
    shifts = [r["description"].split(": ", 1)[1] for r in rows if r["change_key"].startswith(("deploy#attach",
                                                                                               "deploy#shift-"))]
    assert shifts == ["blue 100 / green 0", "blue 90 / green 10", "blue 50 / green 50", "blue 0 / green 100"]
    assert all(r["status"] == "applied" and json.loads(r["inverse"]) for r in rows)  # each with its undo
    blue_tg = ecs.describe_services(cluster=CLUSTER, services=[BLUE])["services"][0]["loadBalancers"][0]["targetGroupArn"]
    green_tg = ecs.describe_services(cluster=CLUSTER, services=[GREEN])["services"][0]["loadBalancers"][0]["targetGroupArn"]
    landed = _https_listener(elbv2)
    weights = {t["TargetGroupArn"]: t["Weight"] for t in landed["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]}
    assert weights == {blue_tg: 0, green_tg: 100}
    green_name = green_tg.split("/")[-2]
    assert all(f"target group {green_name} " in r for r in _routes(sandbox, 5))  # weight 0: blue never picked
    diag = cli("diagnose", "--sandbox", "--domain", HOST, "--no-probe", "--format", "json")
    report = json.loads(diag.stdout)  # the weighted forward (blue at weight 0) reads as routing to green
    assert diag.returncode == 0 and report["summary"]["fail"] == 0, [f for f in report["findings"] if f["status"] == "fail"]
    assert report["target"]["service"] == GREEN
    calls = [c for c in log.read_text().splitlines() if not c.split(".", 1)[1].startswith(("Describe", "List", "Get"))]
    assert calls == ["ecs.RegisterTaskDefinition", "elbv2.CreateTargetGroup", "ecs.CreateService",
                     "ecs.UpdateService"] + ["elbv2.ModifyListener"] * 4  # UpdateService: grace period (moto)

    # the emulator honours weights: a 50/50 split reaches both groups (then the landed state is put back)
    split = [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": blue_tg, "Weight": 50},
                                                                    {"TargetGroupArn": green_tg, "Weight": 50}]}}]
    elbv2.modify_listener(ListenerArn=landed["ListenerArn"], DefaultActions=split)
    time.sleep(1.2)  # the emulator caches an unweighted decision for a second
    seen = {r.split("target group ")[1].split(" |")[0] for r in _routes(sandbox, 24)}
    elbv2.modify_listener(ListenerArn=landed["ListenerArn"], DefaultActions=landed["DefaultActions"])
    assert seen == {blue_tg.split("/")[-2], green_name}

    fin = cli("deploy", "--sandbox", *SVC, "--finalize", "--yes")
    assert_no_traceback(fin)
    assert fin.returncode == 0, fin.stdout + fin.stderr
    assert _https_listener(elbv2)["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": green_tg}]
    assert not _active(ecs, BLUE) and _active(ecs, GREEN)
    assert _tg_exists(elbv2, blue_tg) and "kept so this finalize can be rolled back" in fin.stdout
    assert all(f"target group {green_name} " in r for r in _routes(sandbox, 3))
    assert "finalize" in " ".join(a["target"] if isinstance(a["target"], str) else json.dumps(a["target"])
                                  for a in json.loads(cli("history", "--json").stdout))

    # a finalize can itself be rolled back: blue's target group was kept, so every inverse names what exists
    undo = cli("rollback", _apply_id(fin.stdout), "--yes")
    assert_no_traceback(undo)
    assert undo.returncode == 0 and "restored and verified" in undo.stdout, undo.stdout + undo.stderr
    weights = {t["TargetGroupArn"]: t["Weight"]
               for t in _https_listener(elbv2)["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]}
    assert weights == {blue_tg: 0, green_tg: 100} and _active(ecs, BLUE) and _active(ecs, GREEN)


def test_plain_moto_bluegreen_never_steady_restores_listener_and_rule(cli, fresh_moto, tmp_path):
    """Against a moto server seeded by a plain boto3 script (no sandbox: nothing starts green's tasks), green
    never becomes steady: both forwards (listener default and rule 200) are put back exactly, green removed."""
    from tests.e2e.plain_seed import seed_incident

    ids = seed_incident(fresh_moto, repaired=True)
    elbv2 = boto3.client("elbv2", endpoint_url=fresh_moto, region_name="us-east-1", aws_access_key_id="t",
                         aws_secret_access_key="t")
    ecs = boto3.client("ecs", endpoint_url=fresh_moto, region_name="us-east-1", aws_access_key_id="t",
                       aws_secret_access_key="t")

    def forwards() -> list:
        listener = elbv2.describe_listeners(ListenerArns=[ids["https"]])["Listeners"][0]["DefaultActions"]
        rules = [r["Actions"] for r in elbv2.describe_rules(ListenerArn=ids["https"])["Rules"]]
        return [listener, rules]

    before = forwards()
    tgs_before = {t["TargetGroupArn"] for t in elbv2.describe_target_groups()["TargetGroups"]}
    log = tmp_path / "calls.log"
    proc = cli("deploy", "--endpoint-url", fresh_moto, "--region", "us-east-1", *SVC, "--strategy", "blue-green",
               "--image", "shine:v2", "--deadline", "2", "--yes", env={"SHINE_OPS_CALL_LOG": str(log)})
    assert_no_traceback(proc)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "gate green-steady: green not steady after 2 s" in proc.stdout
    assert forwards() == before
    assert {t["TargetGroupArn"] for t in elbv2.describe_target_groups()["TargetGroups"]} == tgs_before
    assert not _active(ecs, GREEN)
    calls = [c for c in log.read_text().splitlines() if not c.split(".", 1)[1].startswith(("Describe", "List", "Get"))]
    assert calls == ["ecs.RegisterTaskDefinition", "elbv2.CreateTargetGroup", "ecs.CreateService", "ecs.UpdateService",
                     "elbv2.ModifyListener", "elbv2.ModifyRule",  # green attached at weight 0
                     "elbv2.ModifyListener", "elbv2.ModifyRule",  # the original actions, exactly
                     "ecs.UpdateService", "ecs.DeleteService", "elbv2.DeleteTargetGroup"]
