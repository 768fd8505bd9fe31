"""The sandbox with its tasks as containers of the reference service's image (issue 18, items 2-4): the image
answers the smoke through the load balancer emulator; ``deploy`` of a tag the ECR stand-in does not hold fails to
pull as on ECS and rolls back; 256 MiB gets the model OOM-killed (exit 137) and diagnose names it; a container
that exits at start is a stopped task with ECS's reason. Skips, naming the set-up step, without podman or the
image. (A task definition's PORT that disagrees with the container port: tests/e2e/test_sandbox_service.py, in
whichever mode runs; container mode is the default where podman and the image are.)"""

from __future__ import annotations

import json
import shutil
import time

import pytest
import requests

from shine_ops.sandbox import image
from tests.conftest import assert_no_traceback
from tests.e2e.conftest import sandbox_up

SKIP_REASON = image.unavailable_reason()
pytestmark = [pytest.mark.slow, pytest.mark.container,
              pytest.mark.skipif(SKIP_REASON is not None,
                                 reason=f"{SKIP_REASON} (CI: scripts/setup-system-tools.sh builds it)")]
DOMAIN = "api.shineskincollective.com"
CONTAINER = {"SHINE_OPS_SANDBOX_RUNTIME": "container"}


class _ContainerCli:
    """The CLI with the sandbox's tasks as containers (an explicit ask: no silent fallback to processes)."""

    def __init__(self, cli) -> None:
        self._cli, self.state_dir = cli, cli.state_dir

    def __call__(self, *args: str, env: dict | None = None, **kw):
        return self._cli(*args, env={**CONTAINER, **(env or {})}, **kw)


@pytest.fixture()
def ccli(cli) -> _ContainerCli:
    return _ContainerCli(cli)


def _ecs_tasks(st: dict) -> list[dict]:
    import boto3

    ecs = boto3.client("ecs", endpoint_url=st["endpoint"], region_name="us-east-1")
    arns = ecs.list_tasks(cluster="production-shine-cluster", desiredStatus="STOPPED")["taskArns"] + \
        ecs.list_tasks(cluster="production-shine-cluster")["taskArns"]
    return ecs.describe_tasks(cluster="production-shine-cluster", tasks=arns)["tasks"] if arns else []


def _new_revision(ecs, **changes) -> None:
    """Register a revision of the healthy scenario's service with ``changes`` to its container, and deploy it."""
    svc = ecs.describe_services(cluster="production-shine-cluster", services=["shine-api-gateway"])["services"][0]
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    (c,) = td["containerDefinitions"]
    c.update(changes)
    new = ecs.register_task_definition(family=td["family"], networkMode="awsvpc", cpu=td["cpu"],
                                       memory=str(changes.get("memory", td["memory"])),
                                       requiresCompatibilities=["FARGATE"], containerDefinitions=[c])
    ecs.update_service(cluster="production-shine-cluster", service="shine-api-gateway",
                       taskDefinition=new["taskDefinition"]["taskDefinitionArn"])


def _wait_stopped(st: dict, stop_code: str, timeout_s: float = 120) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [t for t in _ecs_tasks(st) if t.get("stopCode") == stop_code]
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"no task stopped with {stop_code} in {timeout_s:.0f} s: {_ecs_tasks(st)}")


def test_the_container_serves_then_fails_as_ecs_would(ccli):
    """One sandbox, three deploys' worth of truth: the image answers the smoke through the load balancer emulator;
    ``deploy --image`` of a tag the ECR stand-in does not hold gets a task stopped with CannotPullContainerError
    (TaskFailedToStart), ends its wait at once and rolls back while the running task keeps serving; a revision
    of the image as built (gunicorn) with 256 MiB is killed at the limit and stops with ECS's OutOfMemoryError
    and exit 137, which ``ecs.tasks-not-crashing`` names."""
    import boto3

    st = sandbox_up(ccli, "healthy")
    try:
        assert st["task_runtime"] == "container"
        (task,) = st["tasks"]
        assert task["runtime"] == "container" and task["state"] == "ready" and task["memory_limit_mib"] == 2048
        assert json.loads(ccli("sandbox", "status", "--json").stdout)["task_runtime"] == "container"
        smoke = ccli("smoke", "--sandbox", "--origin", "https://www.shineskincollective.com", "--format", "json")
        assert smoke.returncode == 0, smoke.stdout
        r = requests.get(st["alb_endpoint"] + "/health", headers={"Host": DOMAIN}, timeout=30)
        assert r.status_code == 200 and f"task {task['address']}:8000" in r.headers["X-Shine-Ops-Simulated"]

        ecs = boto3.client("ecs", endpoint_url=st["endpoint"], region_name="us-east-1")
        image_uri = ecs.describe_task_definition(taskDefinition="shine-api-gateway")["taskDefinition"][
            "containerDefinitions"][0]["image"]
        if shutil.which("docker-registry"):
            assert "stand-in for ECR" in st["registry"], st["registry"]
            missing = image_uri.rsplit(":", 1)[0] + ":never-pushed"
            t0 = time.monotonic()
            bad = ccli("deploy", "--sandbox", "--cluster", "production-shine-cluster", "--service",
                       "shine-api-gateway", "--image", missing, "--yes", timeout=300)
            took = time.monotonic() - t0
            assert_no_traceback(bad)
            assert bad.returncode == 1, bad.stdout + bad.stderr
            # the wait ends at the failed pull (a missing tag is no retry's business), not at the 300 s deadline
            assert "retrying cannot help" in bad.stdout and "CannotPullContainerError" in bad.stdout, bad.stdout
            assert ":never-pushed" in bad.stdout and took < 150, (took, bad.stdout)
            assert "rolled back to shine-api-gateway:1: steady again" in bad.stdout, bad.stdout
            (failed,) = _wait_stopped(st, "TaskFailedToStart", 10)
            assert failed["stoppedReason"].startswith("CannotPullContainerError:")
            assert ecs.describe_services(cluster="production-shine-cluster", services=["shine-api-gateway"])[
                "services"][0]["taskDefinition"].endswith(":1")
            deploys = [a["status"] for a in json.loads(ccli("history", "--json").stdout) if a["kind"] == "deploy"]
            assert deploys[-1] == "rolled_back", deploys  # the newest (the state folder outlives one test)
            r = requests.get(st["alb_endpoint"] + "/health", headers={"Host": DOMAIN}, timeout=30)
            assert r.status_code == 200  # the old task served throughout, as ECS keeps it while new ones fail

        # the case: the image as built (gunicorn, its master importing TensorFlow) with 256 MiB
        _new_revision(ecs, image=image_uri, memory=256)
        (killed,) = _wait_stopped(st, "EssentialContainerExited")
        (container,) = killed["containers"]
        assert (container["exitCode"], container["reason"]) == (137, "OutOfMemoryError: Container killed due to "
                                                                      "memory usage")
        report = json.loads(ccli("diagnose", "--sandbox", "--format", "json").stdout)
        finding = {f["check"]: f for f in report["findings"]}["ecs.tasks-not-crashing"]
        assert finding["status"] == "fail" and "OutOfMemoryError" in finding["summary"], finding["summary"]
    finally:
        ccli("sandbox", "down")
    assert image.podman("ps", "--all", "--quiet", "--filter", f"name={task['container']}").stdout.strip() == ""


def test_a_container_that_exits_at_start_is_a_stopped_task_diagnose_names(ccli):
    st = sandbox_up(ccli, "smoke.health")  # FM-14: the WSGI module import fails
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the daemon reaps exited containers every 2 s
            stopped = [t for t in _ecs_tasks(st) if t["lastStatus"] == "STOPPED"
                       and t.get("stopCode") == "EssentialContainerExited"]
            if stopped:
                break
            time.sleep(1)
        assert stopped, _ecs_tasks(st)
        (c,) = stopped[0]["containers"]
        assert stopped[0]["stoppedReason"] == "Essential container in task exited"
        assert c["exitCode"] == 1 and c["reason"] == "Essential container exited with code 1"
        report = json.loads(ccli("diagnose", "--sandbox", "--format", "json").stdout)
        by_id = {f["check"]: f for f in report["findings"]}
        assert by_id["ecs.tasks-not-crashing"]["status"] == "fail"
        assert "exited with code 1" in by_id["ecs.tasks-not-crashing"]["summary"]
    finally:
        ccli("sandbox", "down")
