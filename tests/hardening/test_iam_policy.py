"""The generated policy covers every AWS operation the tool really calls, mode by mode."""

from __future__ import annotations

import json

import pytest

from shine_ops.iam import action_of
from tests.e2e.plain_seed import DOMAIN, seed_incident

pytestmark = pytest.mark.slow


@pytest.fixture()
def cli(tmp_path):
    from tests.conftest import Cli

    return Cli(tmp_path)  # a journal of its own


def _policy(cli, mode: str) -> set[str]:
    proc = cli("iam-policy", "--mode", mode)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["Version"] == "2012-10-17"
    return {a for s in doc["Statement"] for a in s["Action"]}


def _called(log) -> set[str]:
    return {action_of(line.strip()) for line in log.read_text().splitlines() if line.strip()}


def test_every_operation_called_is_in_the_policy_of_its_mode(cli, fresh_moto, tmp_path):
    seed_incident(fresh_moto)
    base = ["--endpoint-url", fresh_moto, "--region", "us-east-1"]
    read_log, fix_log = tmp_path / "read.log", tmp_path / "fix.log"
    for args in (["diagnose", "--no-probe", "--domain", DOMAIN], ["map", "--domain", DOMAIN],
                 ["diagnose", "--no-probe", "--all"], ["fix", "alb-ecs", "--domain", DOMAIN]):
        cli(*args, *base, env={"SHINE_OPS_CALL_LOG": str(read_log)})
    proc = cli("fix", "alb-ecs", "--domain", DOMAIN, "--apply", "--yes", *base,
               env={"SHINE_OPS_CALL_LOG": str(fix_log)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    apply_id = json.loads(cli("history", "--json").stdout)[-1]["apply_id"]
    assert cli("rollback", apply_id, "--yes", env={"SHINE_OPS_CALL_LOG": str(fix_log)}).returncode == 0
    read_called, fix_called = _called(read_log), _called(fix_log)
    assert len(read_called) > 10 and any(a.startswith("route53:") for a in read_called)
    assert read_called <= _policy(cli, "read"), read_called - _policy(cli, "read")
    assert fix_called <= _policy(cli, "fix"), fix_called - _policy(cli, "fix")
    assert not any(a.startswith(("ec2:Authorize", "elasticloadbalancing:Create", "route53:Change"))
                   for a in _policy(cli, "read"))


def test_playbook_scoped_policy_is_smaller(cli):
    full = _policy(cli, "read")
    proc = cli("iam-policy", "--playbook", "guardrails")
    scoped = {a for s in json.loads(proc.stdout)["Statement"] for a in s["Action"]}
    assert scoped < full and "acm:DescribeCertificate" not in scoped
