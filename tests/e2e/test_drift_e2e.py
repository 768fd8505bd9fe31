"""Drift: the account against the topology declared in shine-ops.yaml."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow
DECLARED = """declared:
  domain: api.shineskincollective.com
  load_balancer: production-shine-skincare-alb
  paths: ["/health", "/api/*"]
  target_group: shine-api-tg-8000-fixed
  service: production-shine-cluster/shine-api-gateway
  container_port: 8000
  health_path: /health
  grace_period_s: 120
  idle_timeout_s: 60
"""


def _drift(cli, endpoint, cwd):
    proc = cli("diagnose", "--playbook", "drift", "--no-probe", "--endpoint-url", endpoint, "--region", "us-east-1",
               "--format", "json", cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)["findings"][0]


def test_drift_declared_topology_passes_when_the_account_matches(cli, scenario_server, tmp_path):
    (tmp_path / "shine-ops.yaml").write_text(DECLARED)
    f = _drift(cli, scenario_server("healthy"), tmp_path)
    assert f["status"] == "pass" and "9 declared values" in f["summary"]


def test_drift_declared_topology_names_every_difference_in_the_incident(cli, scenario_server, tmp_path):
    (tmp_path / "shine-ops.yaml").write_text(DECLARED)
    f = _drift(cli, scenario_server("shine-incident"), tmp_path)
    assert f["status"] == "fail"
    whats = [d["what"] for d in f["evidence"]["differences"]]
    assert whats[0] == "load balancer api.shineskincollective.com aliases"
    assert any("/api/*" in w for w in whats)
    assert "production-shine-cluster/shine-api-gateway target group" in whats
    assert f["summary"].startswith("The account drifted from what shine-ops.yaml declares")


def test_drift_declared_topology_skips_without_a_declaration(cli, scenario_server, tmp_path):
    (tmp_path / "shine-ops.yaml").write_text("domain: api.shineskincollective.com\n")
    assert _drift(cli, scenario_server("healthy"), tmp_path)["status"] == "skip"
