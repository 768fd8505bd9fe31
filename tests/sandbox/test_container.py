"""The sandbox's container runtime: how it reads a task definition (everywhere), and the image it runs (where
podman and the built image are: `container` tests skip, naming the set-up step, elsewhere)."""

from __future__ import annotations

import json
import os
import time

import pytest

from shine_ops.errors import SandboxError
from shine_ops.sandbox import container, image
from shine_ops.sandbox.tasks import TaskRunner
from tests.conftest import assert_no_traceback

SKIP_REASON = image.unavailable_reason()
needs_image = pytest.mark.skipif(SKIP_REASON is not None, reason=f"{SKIP_REASON} (CI: scripts/setup-system-tools.sh "
                                                                  "installs podman and builds the image)")


def test_health_check_forms_are_ecs_ones():
    shell = container.Health.from_container({"healthCheck": {"command": ["CMD-SHELL", "curl -f localhost || exit 1"],
                                                              "interval": 15, "retries": 2, "startPeriod": 40}})
    assert shell is not None and shell.exec_args() == ["/bin/sh", "-c", "curl -f localhost || exit 1"]
    assert (shell.interval, shell.timeout, shell.retries, shell.start_period) == (15.0, 5.0, 2, 40.0)  # timeout: ECS's 5
    argv = container.Health.from_container({"healthCheck": {"command": ["CMD", "python", "-c", "pass"]}})
    assert argv is not None and argv.exec_args() == ["python", "-c", "pass"] and argv.interval == 30.0
    assert container.Health.from_container({"name": "no-check"}) is None


def test_memory_hard_limit_is_the_containers_else_the_tasks():
    assert container.memory_limit_mib({"memory": 256}, 3072) == 256
    assert container.memory_limit_mib({}, 3072) == 3072
    assert container.memory_limit_mib({}, None) is None


def test_podman_memory_figures_parse():
    assert container._bytes("512.3MB") == 512_300_000
    assert container._bytes("1.5GiB") == int(1.5 * 1024 ** 3)
    assert container._bytes("n/a") is None


def test_runtime_follows_the_environment(monkeypatch):
    monkeypatch.setenv("SHINE_OPS_SANDBOX_RUNTIME", "process")
    assert TaskRunner.choose_runtime() == ("process", "SHINE_OPS_SANDBOX_RUNTIME=process")
    monkeypatch.setenv("SHINE_OPS_SANDBOX_RUNTIME", "docker")
    with pytest.raises(SandboxError) as exc:
        TaskRunner.choose_runtime()
    assert "not auto, container or process" in str(exc.value)


def test_without_podman_the_build_names_the_debian_packages(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no podman, no mmdebstrap on PATH
    monkeypatch.setattr(image, "RUNC", str(tmp_path / "runc"))
    assert image.missing_tools() == {"podman": "podman", "runc": "runc", "mmdebstrap": "mmdebstrap"}
    with pytest.raises(SandboxError) as exc:
        image.build()
    assert exc.value.hint and "apt-get install mmdebstrap podman runc" in exc.value.hint
    monkeypatch.setenv("SHINE_OPS_SANDBOX_RUNTIME", "container")  # asked for, impossible: said, not guessed
    with pytest.raises(SandboxError) as exc:
        TaskRunner.choose_runtime()
    assert "no container engine" in str(exc.value) and "SHINE_OPS_SANDBOX_RUNTIME=process" in str(exc.value)
    monkeypatch.setenv("SHINE_OPS_SANDBOX_RUNTIME", "auto")
    runtime, why = TaskRunner.choose_runtime()
    assert runtime == "process" and "apt-get install podman runc" in why
    monkeypatch.delenv("SHINE_OPS_SANDBOX_RUNTIME")  # the default is auto: processes here, saying why
    assert TaskRunner.choose_runtime() == (runtime, why)


def test_image_build_cli_without_podman_says_what_to_install(cli, tmp_path):
    proc = cli("sandbox", "image", "build", env={"PATH": str(tmp_path)})
    assert_no_traceback(proc)
    assert proc.returncode != 0
    assert "podman" in proc.stderr and "apt-get install" in proc.stderr


@pytest.mark.container
@pytest.mark.slow
@needs_image
def test_image_runs_the_service_as_non_root_with_its_model_and_card():
    (info,) = json.loads(image.podman("image", "inspect", image.IMAGE, check=True).stdout)
    cfg = info["Config"]
    assert cfg["User"] == "10001"
    assert cfg["Cmd"][0] == "gunicorn" and "reference_service.app:create_app()" in cfg["Cmd"]
    assert "/health" in " ".join(info["Healthcheck"]["Test"])  # kept: built with --format docker
    probe = ("import json, os; from reference_service.model_store import PACKAGE_MODEL, card_path_for, sha256_file;"
             "card = json.loads(card_path_for(PACKAGE_MODEL).read_text());"
             "print(os.getuid(), sha256_file(PACKAGE_MODEL) == card.get('sha256'), os.environ['PORT'])")
    out = image.podman("run", "--rm", *image.RUN_LIMITS, "--network", "none", image.IMAGE, "python", "-c", probe,
                       timeout=120, check=True).stdout.split()
    assert out == ["10001", "True", "8000"]


@pytest.mark.container
@pytest.mark.slow
@needs_image
def test_a_memory_limit_below_the_model_kills_it_like_ecs(tmp_path):
    """The service's TensorFlow stack does not fit in 128 MiB: the kernel kills the container's main process
    (exit 137) and the task stops with the reason ECS gives. The task definition's ``command`` (one process,
    as the sandbox's process mode runs it) replaces the image's CMD, as on ECS; under gunicorn the kernel
    kills a worker instead and gunicorn starts another (the container stays up, as it would on ECS)."""
    task_def = {"memory": 128, "command": ["python", "-m", "reference_service"],
                "healthCheck": {"command": ["CMD-SHELL", "exit 0"], "interval": 5}}
    handle = container.run(what="reference_service", name=f"shine-test-oom-{os.getpid()}",
                           env={"PORT": "8000"}, address="127.0.0.1",
                           container=task_def, task_memory=3072, log=str(tmp_path / "task.log"))
    try:
        assert handle.memory_mib == 128
        deadline = time.monotonic() + 120
        while handle.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert handle.returncode is not None, "the container was not killed within 120 s"
        assert handle.ecs_stop() == (container.EXITED_REASON, 137, container.OOM_REASON)
    finally:
        handle.remove()


def test_registry_stand_in_keeps_the_repository_path_and_tag():
    from pathlib import Path

    from shine_ops.sandbox.registry import Registry

    reg = Registry(endpoint="127.0.0.1:5000", proc=None, storage=Path("."))  # type: ignore[arg-type]
    assert reg.ref_for("396608803476.dkr.ecr.us-east-1.amazonaws.com/shine-api-gateway:hare-run-v6") == \
        "127.0.0.1:5000/shine-api-gateway:hare-run-v6"
    assert reg.ref_for("localhost:5000/team/api") == "127.0.0.1:5000/team/api:latest"
    assert reg.ref_for("python:3.11-slim") == "127.0.0.1:5000/python:3.11-slim"


@pytest.mark.skipif(image.unavailable_reason() is not None, reason="podman or the image is absent here "
                    "(CI: scripts/setup-system-tools.sh builds it)")
def test_the_default_runs_containers_where_the_image_is(monkeypatch):
    monkeypatch.delenv("SHINE_OPS_SANDBOX_RUNTIME", raising=False)
    runtime, why = TaskRunner.choose_runtime()
    assert runtime == "container" and image.IMAGE in why


@pytest.mark.container
@pytest.mark.slow
@needs_image
@pytest.mark.skipif(__import__("shutil").which("docker-registry") is None, reason="no docker-registry here")
def test_the_registry_stand_in_pushes_an_image_once_and_serves_it_by_reference(tmp_path):
    """Its storage outlives sandboxes: a tag that already names the local image is not pushed again (podman
    would spend about 20 s re-compressing the layers), a pull gives back that same image, another tag fails."""
    from shine_ops.sandbox import registry

    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shine-api-gateway:test-once"
    local_id = image.image_id()
    reg = registry.start(str(tmp_path))
    try:
        reg.push(uri)  # pushed now, or already there from an earlier run
        assert reg.holds(uri, local_id)
        assert reg.push(uri) is False
        assert reg.pull(uri) == (local_id, "")
        assert not reg.holds(uri.replace(":test-once", ":never-pushed"), local_id)
        assert not reg.holds(uri, "0" * 64)  # another image under the tag would be pushed again
        pulled, err = reg.pull(uri.replace(":test-once", ":never-pushed"))
        assert pulled is None and err.startswith("CannotPullContainerError:")
    finally:
        reg.stop()
