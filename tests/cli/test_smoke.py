"""``shine-ops smoke URL`` against a real server of the reference service, and against nothing."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference_service"))
from rs_helpers import cli_subprocess_cmd, free_port, host_command, parse_dockerfile, run_cli, start_server  # noqa: E402

ORIGIN = "http://localhost:3000"


@pytest.fixture(scope="module")
def smoke_service_url():
    """The reference service (shipped model) on a werkzeug server in a thread, on a free loopback port."""
    from werkzeug.serving import make_server

    from reference_service.app import create_app
    from reference_service.state import ServiceState

    state = ServiceState(model_uri="", skin_model_uri="")
    state.load()
    app = create_app({"CORS_ORIGINS": [ORIGIN]}, state=state, start_loading=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.service
def test_smoke_passes_json(smoke_service_url, capsys):
    code, out, err = run_cli(["smoke", smoke_service_url, "--origin", ORIGIN, "--format", "json"], capsys)
    report = json.loads(out)
    statuses = {f["check"]: f["status"] for f in report["findings"]}
    assert statuses == {"smoke.health": "pass", "smoke.face-detect": "pass", "smoke.analyze": "pass",
                        "cors.allows-frontend-origin": "pass"}, report["findings"]
    assert code == 0
    assert report["schema"] == "shine-ops.report/v1" and report["summary"]["pass"] == 4
    sev = {f["check"]: f["severity"] for f in report["findings"]}
    assert sev["smoke.health"] == "high" and sev["cors.allows-frontend-origin"] == "medium"
    for f in report["findings"]:
        assert f["evidence"]["latency_ms"] >= 0
    face = next(f for f in report["findings"] if f["check"] == "smoke.face-detect")
    assert face["evidence"]["iou"] > 0.7


@pytest.mark.service
def test_smoke_table_and_cors_skip(smoke_service_url, capsys):
    code, out, _ = run_cli(["smoke", smoke_service_url], capsys)
    assert code == 0
    assert "smoke.face-detect" in out and "pass" in out and "skip" in out


@pytest.mark.service
def test_smoke_wrong_origin_is_medium(smoke_service_url, capsys):
    code, out, _ = run_cli(["smoke", smoke_service_url, "--origin", "https://other.example", "--format", "json"],
                           capsys)
    cors = next(f for f in json.loads(out)["findings"] if f["check"] == "cors.allows-frontend-origin")
    assert cors["status"] == "fail" and code == 0  # medium < --fail-on high
    code, _, _ = run_cli(["smoke", smoke_service_url, "--origin", "https://other.example", "--fail-on", "medium",
                          "--format", "json"], capsys)
    assert code == 1


def test_smoke_closed_port_fails_within_budget(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    code, out, err = run_cli(["smoke", url, "--format", "json", "--probe-timeout", "3"], capsys)
    assert time.monotonic() - t0 < 5
    assert code == 1 and "Traceback" not in err
    findings = {f["check"]: f for f in json.loads(out)["findings"]}
    assert findings["smoke.health"]["status"] == "fail"
    assert "cannot be reached" in findings["smoke.health"]["summary"]
    assert {findings[c]["status"] for c in ("smoke.face-detect", "smoke.analyze", "cors.allows-frontend-origin")} == {"skip"}


def test_smoke_silent_server_fails_within_budget(capsys):
    """A port that accepts connections but never answers: the budget bounds the run."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        t0 = time.monotonic()
        code, out, err = run_cli(["smoke", url, "--format", "json", "--probe-timeout", "2"], capsys)
        elapsed = time.monotonic() - t0
    assert code == 1 and elapsed < 4, elapsed
    health = json.loads(out)["findings"][0]
    assert health["check"] == "smoke.health" and health["status"] == "fail"


@pytest.mark.parametrize("args", [["smoke", "not-a-url"], ["smoke", "ftp://x"], ["smoke", "http://x", "--format", "xml"],
                                  ["smoke", "http://x", "--fail-on", "urgent"], ["smoke", "http://x", "--probe-timeout", "0"],
                                  ["smoke", "http://x", "--origin", "localhost:3000"]])
def test_smoke_usage_errors_exit_2(args, capsys):
    code, out, err = run_cli(args, capsys)
    assert code == 2 and "Traceback" not in err and err.strip()


@pytest.mark.slow
@pytest.mark.service
def test_smoke_cli_process_against_gunicorn(tmp_path):
    """A real shine-ops process against the Dockerfile's gunicorn command: exit 0; then a closed port: exit 1."""
    server = start_server(host_command(parse_dockerfile()), {"WEB_CONCURRENCY": "1", "CORS_ORIGINS": ORIGIN}, tmp_path)
    try:
        proc = subprocess.run(cli_subprocess_cmd(["smoke", server.url, "--origin", ORIGIN, "--format", "json"]),
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert json.loads(proc.stdout)["summary"]["pass"] == 4
    finally:
        server.stop()
    t0 = time.monotonic()
    proc = subprocess.run(cli_subprocess_cmd(["smoke", server.url]), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert time.monotonic() - t0 < 15
