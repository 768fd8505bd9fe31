"""A sandbox task as a real container: the reference service's image run with the task definition's settings.

Why a process-like handle: the task runner (``tasks.py``) drives a task through ``poll``/``terminate``/``wait``/
``kill``/``returncode``/``pid``, as it does a local process; ``ContainerProc`` answers the same calls with podman,
so the runner, the load-balancer emulator and the health checker work unchanged in both modes.

What ECS does and this repeats: the task definition's ``environment``; its ``portMappings`` published on the
task's own loopback address (awsvpc: the container port is the task's port; an app listening elsewhere inside
is refused); ``memory`` as a hard limit (the kernel kills the container at it: exit 137); the ``healthCheck``
command run inside the container every ``interval`` s, its result the container's ``healthStatus``; SIGTERM on
stop, SIGKILL after ``stopTimeout``. A container that exits by itself is a stopped task with ECS's reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from shine_ops.sandbox import image as images
from shine_ops.sandbox.state import pid_alive

SANDBOX_LABEL = "shine-ops.sandbox"  # podman label: the daemon pid that owns the container
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
EXITED_REASON = "Essential container in task exited"
# what a runnable label runs in the image (None: the image's CMD, as ECS runs it)
COMMANDS: dict[str, list[str] | None] = {
    "reference_service": None,
    "legacy_shine_v6": ["python", "-m", "shine_ops.sandbox.legacy_app"],
    "crash_on_import": ["python", "-c", "import application_hare_run_v6_clean"],  # FM-14: the wsgi import fails
}


@dataclass
class Health:
    """The task definition's healthCheck, as ECS runs it (defaults are ECS's)."""

    command: list[str]
    interval: float = 30.0
    timeout: float = 5.0
    retries: int = 3
    start_period: float = 0.0

    @classmethod
    def from_container(cls, container: dict) -> "Health | None":
        hc = container.get("healthCheck") or {}
        cmd = list(hc.get("command") or [])
        if not cmd:
            return None
        return cls(command=cmd, interval=float(hc.get("interval", 30)), timeout=float(hc.get("timeout", 5)),
                   retries=int(hc.get("retries", 3)), start_period=float(hc.get("startPeriod", 0)))

    def exec_args(self) -> list[str]:
        """ECS's forms: ["CMD-SHELL", "cmd"] runs through /bin/sh -c; ["CMD", argv...] runs argv."""
        kind, rest = self.command[0], self.command[1:]
        if kind == "CMD-SHELL":
            return ["/bin/sh", "-c", " ".join(rest)]
        if kind == "CMD":
            return rest
        return self.command  # not ECS's form; run it as given


@dataclass
class ContainerProc:
    """A running (or exited) task container, behind the subset of ``subprocess.Popen`` the runner uses."""

    name: str
    memory_mib: int | None
    health: Health | None = None
    on_health: Callable[[str], None] | None = None
    stop_timeout: float = 30.0
    container_id: str = ""
    pid: int | None = None
    returncode: int | None = None
    oom_killed: bool = False
    health_status: str = "UNKNOWN"
    stopping: bool = False  # the sandbox asked it to stop (so a 137 is its SIGKILL, not the memory limit)
    _last_poll: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    # --- Popen's interface -------------------------------------------------------------------------------
    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        now = time.monotonic()
        if now - self._last_poll < 0.5:  # podman inspect costs ~0.1 s: at most twice a second
            return None
        self._last_poll = now
        state = self.inspect()
        if state and state.get("Status") in ("exited", "stopped"):
            self.returncode = int(state.get("ExitCode", 0))
            self.oom_killed = bool(state.get("OOMKilled")) or (self.returncode == 137 and not self.stopping
                                                               and self.memory_mib is not None)
            self._stop.set()
        elif state is None:  # removed under us
            self.returncode = -1
            self._stop.set()
        return self.returncode

    def terminate(self) -> None:
        self.stopping = True
        images.podman("kill", "--signal", "TERM", self.name, timeout=30)

    def kill(self) -> None:
        self.stopping = True
        images.podman("kill", "--signal", "KILL", self.name, timeout=30)

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            self._last_poll = 0.0
            if self.poll() is not None:
                return self.returncode  # type: ignore[return-value]
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(self.name, timeout or 0)
            time.sleep(0.2)

    # --- container facts ---------------------------------------------------------------------------------
    def inspect(self) -> dict[str, Any] | None:
        proc = images.podman("container", "inspect", self.name, "--format", "{{json .State}}", timeout=30)
        if proc.returncode != 0:
            return None
        try:
            return json.loads(proc.stdout)
        except ValueError:
            return None

    def exec(self, argv: list[str], timeout: float) -> int:
        try:
            return images.podman("exec", self.name, *argv, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            return 124

    def rss_bytes(self) -> int | None:
        """The container's memory use as its cgroup counts it (what the hard limit applies to)."""
        proc = images.podman("stats", "--no-stream", "--format", "json", self.name, timeout=30)
        try:
            row = (json.loads(proc.stdout or "[]") or [{}])[0]
        except ValueError:
            return None
        used = str(row.get("mem_usage", "")).split("/")[0].strip()  # "512.3MB / 2.147GB"
        return _bytes(used)

    def ecs_stop(self) -> tuple[str, int | None, str]:
        """(stoppedReason, exitCode, container reason) as ECS reports a task whose container exited."""
        if self.oom_killed:
            return EXITED_REASON, 137, OOM_REASON
        return EXITED_REASON, self.returncode, f"Essential container exited with code {self.returncode}"

    def remove(self) -> None:
        self._stop.set()
        try:
            images.podman("rm", "--force", "--time", "0", self.name, timeout=60)
        except subprocess.TimeoutExpired:
            pass

    # --- the task definition's healthCheck ---------------------------------------------------------------
    def start_health(self) -> None:
        if self.health is None:
            return
        if self.on_health is not None:
            self.on_health("UNKNOWN")  # ECS: no verdict until the first check (moto says HEALTHY from the start)
        threading.Thread(target=self._health_loop, name=f"health-{self.name}", daemon=True).start()

    def _health_loop(self) -> None:
        """ECS's rules: failures during startPeriod do not count, a success is HEALTHY at once, ``retries``
        failures in a row are UNHEALTHY."""
        assert self.health is not None
        started, failures = time.monotonic(), 0
        while not self._stop.wait(min(self.health.interval, 5.0) if self.health_status == "UNKNOWN"
                                  else self.health.interval):
            code = self.exec(self.health.exec_args(), timeout=self.health.timeout)
            if self._stop.is_set():
                return
            if code == 0:
                failures, status = 0, "HEALTHY"
            else:
                in_grace = time.monotonic() - started < self.health.start_period
                failures = 0 if in_grace else failures + 1
                status = "UNHEALTHY" if failures >= self.health.retries else self.health_status
            if status != self.health_status:
                self.health_status = status
                if self.on_health is not None:
                    self.on_health(status)


def _bytes(text: str) -> int | None:
    units = {"kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "b": 1}
    t = text.strip().lower()
    for unit in sorted(units, key=len, reverse=True):
        if t.endswith(unit):
            try:
                return round(float(t[: -len(unit)]) * units[unit])
            except ValueError:
                return None
    return None


def memory_limit_mib(container: dict, task_memory: int | None) -> int | None:
    """ECS: the container's ``memory`` is its hard limit; without it, the task's memory (Fargate)."""
    for value in (container.get("memory"), task_memory):
        if value:
            return int(value)
    return None


def run(*, what: str, name: str, env: dict[str, str], address: str, container: dict, task_memory: int | None,
        log: str, image: str = images.IMAGE, on_health: Callable[[str], None] | None = None) -> ContainerProc:
    """Start the task's container (detached) and return its handle."""
    ports = sorted({int(p["containerPort"]) for p in container.get("portMappings", []) if "containerPort" in p})
    memory = memory_limit_mib(container, task_memory)
    args = ["run", "--detach", "--name", name, "--label", f"{SANDBOX_LABEL}={os.getpid()}", *images.RUN_LIMITS,
            "--log-driver", "k8s-file", "--log-opt", f"path={log}", "--pull", "never",
            "--no-healthcheck"]  # ECS ignores the image's HEALTHCHECK: the task definition's runs (start_health)
    if memory:
        args += ["--memory", f"{memory}m", "--memory-swap", f"{memory}m"]
    for port in ports:
        args += ["--publish", f"{address}:{port}:{port}"]
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    args.append(image)
    args += list(container.get("command") or COMMANDS.get(what) or [])  # ECS: the task definition's command wins
    images.podman("rm", "--force", "--time", "0", name, timeout=60)  # a leftover of a killed daemon
    proc = images.podman(*args, timeout=120, check=True)
    handle = ContainerProc(name=name, memory_mib=memory, health=Health.from_container(container),
                           on_health=on_health, stop_timeout=float(container.get("stopTimeout") or 30),
                           container_id=proc.stdout.strip())
    state = handle.inspect() or {}
    handle.pid = int(state.get("Pid") or 0) or None
    handle.start_health()
    return handle


def ready_inside(handle: ContainerProc, port: int, timeout: float = 3.0) -> str | None:
    """GET /ready from inside the container, on the port the app was told (the task definition's PORT):
    the readiness of the app itself, whether or not that port is the published one. None: not ready yet."""
    code = ("import json, sys, urllib.request\n"
            f"r = urllib.request.urlopen('http://127.0.0.1:{port}/ready', timeout={timeout - 0.5})\n"
            "print(json.loads(r.read() or b'{}').get('status', 'ready'))")
    try:
        proc = images.podman("exec", handle.name, "python", "-c", code, timeout=timeout + 5)
    except subprocess.TimeoutExpired:
        return None
    return proc.stdout.strip() or "ready" if proc.returncode == 0 else None


def remove_leftovers(owner_pid: int | None = None) -> int:
    """Remove the sandbox's containers (of one daemon, or of daemons no longer alive). Returns how many."""
    proc = images.podman("ps", "--all", "--filter", f"label={SANDBOX_LABEL}", "--format",
                         "{{.Names}} {{index .Labels \"" + SANDBOX_LABEL + "\"}}", timeout=60)
    removed = 0
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        name, owner = parts
        if owner_pid is not None and owner != str(owner_pid):
            continue
        if owner_pid is None and owner.isdigit() and pid_alive(int(owner)):
            continue
        images.podman("rm", "--force", "--time", "0", name, timeout=60)
        removed += 1
    return removed

