"""Bad input gets one clear line and the README's exit code, never a traceback."""

from __future__ import annotations

import os
import socket
import time

from tests.conftest import assert_no_traceback


def _one_line(proc) -> str:
    assert_no_traceback(proc)
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unknown_scenario_is_a_usage_error(cli):
    proc = cli("sandbox", "up", "--scenario", "no-such-scenario")
    assert proc.returncode == 2
    line = _one_line(proc)
    assert "unknown scenario 'no-such-scenario'" in line and "shine-incident" in line


def test_unreachable_endpoint_exits_3_quickly(cli):
    started = time.monotonic()
    proc = cli("diagnose", "--endpoint-url", f"http://127.0.0.1:{_closed_port()}", "--region", "us-east-1",
               "--domain", "api.example.com")
    assert proc.returncode == 3
    assert "cannot reach http://127.0.0.1:" in _one_line(proc)
    assert time.monotonic() - started < 15


def test_no_credentials_exits_3(cli):
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    proc = cli("diagnose", "--endpoint-url", f"http://127.0.0.1:{_closed_port()}", "--region", "us-east-1",
               "--domain", "api.example.com", env=env)
    assert proc.returncode == 3
    assert "no AWS credentials found" in _one_line(proc)


def test_unknown_profile_is_a_usage_error(cli):
    proc = cli("diagnose", "--profile", "nope", "--region", "us-east-1", "--domain", "api.example.com")
    assert proc.returncode == 2
    assert "AWS profile not found: nope" in _one_line(proc)


def test_bad_format_and_fail_on_are_usage_errors(cli):
    assert "--format must be one of" in _one_line(p := cli("diagnose", "--format", "yaml", "--domain", "x.example.com"))
    assert p.returncode == 2
    p = cli("diagnose", "--fail-on", "urgent", "--domain", "x.example.com")
    assert p.returncode == 2 and "--fail-on must be one of" in _one_line(p)


def test_nothing_to_diagnose(cli, tmp_path):
    p = cli("diagnose", "--endpoint-url", "http://127.0.0.1:1", "--region", "us-east-1", cwd=tmp_path)
    assert p.returncode == 2 and "nothing to diagnose" in _one_line(p)


def test_unknown_playbook(cli):
    p = cli("diagnose", "--playbook", "hare-sprint", "--domain", "x.example.com")
    assert p.returncode == 2 and "unknown playbook 'hare-sprint'" in _one_line(p)


def test_malformed_playbook_names_file_line_and_field(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: mine\nchecks:\n  - dns.record-exists\n  - no.such-check\n")
    p = cli("playbook", "validate", str(bad))
    assert p.returncode == 2
    line = _one_line(p)
    assert line.startswith(f"{bad}:4:5: checks.1: unknown check id 'no.such-check'")
    syntax = tmp_path / "syntax.yaml"
    syntax.write_text("name: mine\nchecks: [dns.record-exists\n")
    p = cli("diagnose", "--playbook", str(syntax), "--domain", "x.example.com")
    assert p.returncode == 2 and f"{syntax}:3:1: invalid YAML" in _one_line(p)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("name: mine\nchecks:\n  - id: dns.record-exists\n    severity: urgent\n")
    p = cli("playbook", "validate", str(wrong))
    assert p.returncode == 2 and f"{wrong}:4:5: checks.0.severity" in _one_line(p)


def test_bad_project_file(cli, tmp_path):
    (tmp_path / "shine-ops.yaml").write_text("domain: api.example.com\nstartup_budget_s: soon\n")
    p = cli("diagnose", cwd=tmp_path)
    assert p.returncode == 2
    assert "shine-ops.yaml:2:1: startup_budget_s: expected int or float, got str" in _one_line(p)


def test_sandbox_ignores_aws_profile_and_endpoint_variables(cli):
    """--sandbox never follows AWS_PROFILE / AWS_ENDPOINT_URL: a bogus one must not matter."""
    from tests.e2e.conftest import sandbox_up

    sandbox_up(cli, "healthy")
    try:
        env = {"AWS_PROFILE": "real-prod-account", "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
               "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2": "http://127.0.0.1:1"}
        p = cli("diagnose", "--sandbox", "--format", "json", env=env)
        assert p.returncode == 0, p.stderr
        p = cli("diagnose", "--sandbox", "--profile", "x")
        assert p.returncode == 2 and "--sandbox cannot be combined" in _one_line(p)
    finally:
        cli("sandbox", "down")
