"""Users add checks and playbooks in YAML from their own folder, by option or in shine-ops.yaml."""

from __future__ import annotations

import json

import pytest

from tests.e2e.plain_seed import DOMAIN, seed_incident

pytestmark = pytest.mark.slow

CHECK = """id: acme.service-has-two-tasks
title: Production services run at least two tasks
severity: high
evaluator: jmespath
params:
  resource: services
  id: serviceName
  assert: "desiredCount >= `2`"
"""
PLAYBOOK = """name: acme-prod
description: ACME's production bar
checks:
  - dns.points-to-service-alb
  - acme.service-has-two-tasks
"""


def test_user_check_and_playbook_from_a_folder(cli, fresh_moto, tmp_path):
    seed_incident(fresh_moto, repaired=True)
    d = tmp_path / "acme"
    d.mkdir()
    (d / "acme.service-has-two-tasks.yaml").write_text(CHECK)
    (d / "acme-prod.yaml").write_text(PLAYBOOK)
    base = ["--endpoint-url", fresh_moto, "--region", "us-east-1"]
    listed = cli("checks", "list", "--checks-dir", str(d))
    assert "acme.service-has-two-tasks" in listed.stdout
    assert "acme-prod" in cli("playbook", "list", "--checks-dir", str(d)).stdout
    proc = cli("diagnose", "--no-probe", *base, "--domain", DOMAIN, "--checks-dir", str(d), "--playbook", "acme-prod",
               "--format", "json")
    report = json.loads(proc.stdout)
    assert report["playbook"] == "acme-prod" and proc.returncode == 1
    by_id = {f["check"]: f for f in report["findings"]}
    assert by_id["acme.service-has-two-tasks"]["status"] == "fail"
    assert by_id["acme.service-has-two-tasks"]["resources"] == ["shine-api-gateway"]
    assert by_id["dns.points-to-service-alb"]["status"] == "pass"
    # the same folder from shine-ops.yaml, relative to the file
    (tmp_path / "shine-ops.yaml").write_text(f"domain: {DOMAIN}\nchecks_dir: acme\n")
    proc = cli("diagnose", "--no-probe", *base, "--playbook", "acme-prod", "--format", "json", cwd=tmp_path)
    assert json.loads(proc.stdout)["playbook"] == "acme-prod"


def test_broken_user_check_names_file_and_line(cli, tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "x.yaml").write_text(CHECK.replace("evaluator: jmespath", "evaluator: telepathy"))
    proc = cli("checks", "list", "--checks-dir", str(d))
    assert proc.returncode == 2
    assert f"{d / 'x.yaml'}:4:1: evaluator: unknown evaluator 'telepathy'" in proc.stderr
