"""Deployability: one port everywhere; the Dockerfile's CMD and HEALTHCHECK actually run (no Docker here)."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys

import pytest
import requests

from rs_helpers import (PKG, ROOT, free_port, healthcheck_command, host_command, parse_dockerfile, start_server,
                        venv_env)

TASKDEF = json.loads((PKG / "task-definition.json").read_text())


def gunicorn_settings(env: dict) -> dict:
    old = dict(os.environ)
    try:
        for k in ("HOST", "PORT", "WEB_CONCURRENCY"):
            os.environ.pop(k, None)
        os.environ.update(env)
        return runpy.run_path(str(PKG / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(old)


def test_one_port_everywhere():
    from reference_service import DEFAULT_PORT
    from reference_service.app import settings_from_env

    container = TASKDEF["containerDefinitions"][0]
    container_port = container["portMappings"][0]["containerPort"]
    env = {e["name"]: e["value"] for e in container["environment"]}
    gunicorn_default = int(gunicorn_settings({})["bind"].rsplit(":", 1)[1])
    docker = parse_dockerfile()
    assert container_port == int(env["PORT"]) == gunicorn_default == DEFAULT_PORT == settings_from_env({})["PORT"]
    assert docker["EXPOSE"] == [str(container_port)] and docker["ENV"]["PORT"] == str(container_port)
    hc = healthcheck_command(docker["HEALTHCHECK"])
    assert "os.environ.get('PORT', '8000')" in hc and "/health" in hc
    assert "os.environ.get('PORT', '8000')" in container["healthCheck"]["command"][1]


def test_gunicorn_binds_host_and_port_from_env_only():
    s = gunicorn_settings({})
    assert s["bind"] == "0.0.0.0:8000" and s["workers"] == 2 and s["preload_app"] is False
    s = gunicorn_settings({"PORT": "9123", "HOST": "127.0.0.1"})
    assert s["bind"] == "127.0.0.1:9123"
    assert s["keepalive"] > 60  # outlives the ALB's default idle timeout


def test_task_definition_is_fargate_register_input():
    assert TASKDEF["networkMode"] == "awsvpc" and TASKDEF["requiresCompatibilities"] == ["FARGATE"]
    c = TASKDEF["containerDefinitions"][0]
    assert c["logConfiguration"]["logDriver"] == "awslogs"
    hc = c["healthCheck"]
    assert hc["command"][0] == "CMD-SHELL" and hc["startPeriod"] >= 15
    import botocore.session

    model = botocore.session.get_session().get_service_model("ecs").operation_model("RegisterTaskDefinition")
    allowed = set(model.input_shape.members)
    assert set(TASKDEF) <= allowed, set(TASKDEF) - allowed
    cd_allowed = set(model.input_shape.members["containerDefinitions"].member.members)
    assert set(c) <= cd_allowed, set(c) - cd_allowed


def test_dockerfile_shape():
    """One Dockerfile, the project's: users build it on python:3.11-slim, the sandbox on its Debian base; the
    image runs as a non-root uid and its CMD is gunicorn with the config it copies from reference_service/."""
    assert not (PKG / "Dockerfile").exists()  # no second, never-built copy beside the service
    d = parse_dockerfile()
    assert d["ARG"]["BASE"] == "python:3.11-slim" and d["FROM"][-1] == "${BASE}"
    assert d["USER"] == ["10001"] and d["WORKDIR"][-1] == "/app"
    assert d["CMD"][:3] == ["gunicorn", "-c", "gunicorn.conf.py"] and "create_app()" in d["CMD"][3]
    assert host_command(d)[:3] == ["gunicorn", "-c", "reference_service/gunicorn.conf.py"]
    assert (ROOT / host_command(d)[2]).is_file()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "opencv-python-headless" in pyproject and "<5" in pyproject


@pytest.mark.slow
@pytest.mark.service
def test_dockerfile_cmd_and_healthcheck_run(gunicorn_server, astronaut_b64):
    """The CMD (gunicorn, 2 workers) serves; the HEALTHCHECK command passes on $PORT, fails on a closed port."""
    hc = healthcheck_command(parse_dockerfile()["HEALTHCHECK"])
    ok = subprocess.run(["sh", "-c", hc], env=venv_env({"PORT": str(gunicorn_server.port)}), timeout=20)
    assert ok.returncode == 0
    bad = subprocess.run(["sh", "-c", hc], env=venv_env({"PORT": str(free_port())}), timeout=20,
                         capture_output=True)
    assert bad.returncode == 1
    r = requests.get(gunicorn_server.url + "/health", timeout=5)
    assert r.status_code == 200 and r.json()["status"] == "ok"
    d = requests.post(gunicorn_server.url + "/api/v4/face/detect", json={"image_data": astronaut_b64}, timeout=10)
    assert d.status_code == 200 and len(d.json()["faces"]) == 1
    big = requests.post(gunicorn_server.url + "/api/v4/face/detect", data=b"x" * (11 * 1024 * 1024),
                        headers={"Content-Type": "application/json"}, timeout=20)
    assert big.status_code == 413 and big.json()["error"]
    workers = subprocess.run(["ps", "--ppid", str(gunicorn_server.proc.pid), "-o", "pid="], capture_output=True,
                             text=True).stdout.split()
    assert len(workers) == 2
    # the master imported TensorFlow once, before forking (reference_service/preload.py), with nothing failing
    log = gunicorn_server.log.read_text()
    assert "preloaded serving modules in" in log and "failed:" not in log


def test_gunicorn_master_preloads_serving_imports_only():
    """The conf's when_ready hook imports (never runs) what serving needs; PRELOAD_IMPORTS=0 turns it off."""
    from reference_service.preload import SERVING_MODULES, enabled

    s = gunicorn_settings({})
    assert callable(s["when_ready"]) and s["preload_app"] is False
    assert "tensorflow" in SERVING_MODULES and "keras" in SERVING_MODULES
    assert enabled({}) and enabled({"PRELOAD_IMPORTS": "1"})
    assert not enabled({"PRELOAD_IMPORTS": "0"}) and not enabled({"PRELOAD_IMPORTS": "off"})


def test_preimport_reports_a_missing_module_without_raising():
    import gc

    from reference_service.preload import preimport

    try:
        result = preimport(("json", "reference_service_no_such_module"))
    finally:
        gc.unfreeze()  # preimport freezes the collector for gunicorn's fork; this test process is no master
    assert set(result["failed"]) == {"reference_service_no_such_module"}
    assert "ModuleNotFoundError" in result["failed"]["reference_service_no_such_module"]
    assert result["seconds"] >= 0


@pytest.mark.slow
@pytest.mark.service
def test_python_m_reference_service_binds_port(tmp_path):
    server = start_server([sys.executable, "-m", "reference_service"], {}, tmp_path)
    try:
        r = requests.get(server.url + "/health", timeout=5)
        assert r.status_code == 200 and r.json()["status"] == "ok"
        assert requests.get(server.url + "/ready", timeout=5).json()["status"] == "ready"
    finally:
        server.stop()
