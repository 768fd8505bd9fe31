"""``audit --sandbox``, as every other AWS command takes it: only the sandbox, its dummy credentials, its target.

The sandbox's state is pointed at the sandbox incident seeded into a plain moto server (``scenario_server``),
so the test needs no daemon; the audit runs in-process through the CLI.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import scenario_server  # noqa: F401  (shared fixture)


@pytest.fixture()
def sandbox_state(scenario_server, monkeypatch):
    from shine_ops.sandbox import control
    from shine_ops.sandbox.scenario import load_scenario

    endpoint = scenario_server("shine-incident")
    st = {"status": "ready", "scenario": "shine-incident", "endpoint": endpoint, "region": "us-east-1",
          "target": load_scenario("shine-incident")["target"]}
    monkeypatch.setattr(control, "ensure_running", lambda say: st)
    monkeypatch.setenv("AWS_PROFILE", "someone-elses-real-account")  # ignored with --sandbox
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # ignored with --sandbox
    return st


def _audit(*args: str):
    from typer.testing import CliRunner

    from shine_ops.cli import app

    return CliRunner().invoke(app, ["audit", *args])


@pytest.mark.slow
def test_audit_sandbox_without_a_file_audits_the_sandbox_target(sandbox_state, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no shine-ops.yaml here
    out = tmp_path / "out"
    result = _audit("--sandbox", "--out-dir", str(out), "--no-probe", "--no-cloudwatch")
    assert result.exit_code == 1, result.output  # the incident fails at or above high
    doc = json.loads((out / "report.json").read_text())
    (report,) = doc["targets"]  # one contract report per target and playbook
    assert report["error"] is None
    assert report["target"]["domain"] == "api.shineskincollective.com"
    assert report["target"]["service"] == "shine-api-gateway"
    assert "sg.alb-to-task-ingress" in report["root_causes"]


def test_audit_sandbox_refuses_targets_of_other_accounts(sandbox_state, tmp_path):
    cfg = tmp_path / "audit.yaml"
    cfg.write_text("targets:\n  - domain: api.shineskincollective.com\n    profile: prod-readonly\n")
    result = _audit("--sandbox", "--config", str(cfg), "--out-dir", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "sets profile, but --sandbox talks only to the sandbox" in result.output
    result = _audit("--sandbox", "--profile", "prod", "--config", str(cfg), "--out-dir", str(tmp_path / "out"))
    assert result.exit_code == 2 and "--sandbox cannot be combined with --profile" in result.output
