"""The sandbox's task runner: each ECS task of a service marked to run the reference service becomes a
real container of the service's image (``container.py``) when podman and the image are here, else a real
local process; either way started with the task definition's environment.

Each task gets its own loopback address (127.77.0.N) and binds the ``PORT`` its environment says, so a
task definition whose ``PORT`` disagrees with the container port really listens on the wrong port, exactly
as on Fargate. Processes share the daemon's process group, so stopping the daemon stops them; containers
carry the daemon's pid as a label and are removed with it (and by the next daemon if it was killed).
``SHINE_OPS_SANDBOX_RUNTIME`` = ``auto`` (the default, ``DEFAULT_RUNTIME``: containers where podman and the
image are, else processes), ``container`` (an error where impossible), or ``process``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from shine_ops.sandbox.moto_tasks import (  # noqa: F401  (the daemon reads some through tasks)
    _active_services, _failed_task, _identity, _mark_stopped, _mark_task_revision, _set_health, _set_running_count,
    _stop_unstarted)

DEFAULT_RUNTIME = "auto"  # when SHINE_OPS_SANDBOX_RUNTIME is unset: containers where they can run
RUN_LABEL = "shine-ops.sandbox.run"  # dockerLabels key marking a container the sandbox runs for real
RUNNABLE = {
    "reference_service": [sys.executable, "-m", "reference_service"],
    # the recorded broken backends (scaffolding for scenarios): FM-15..FM-17 and FM-14
    "legacy_shine_v6": [sys.executable, "-m", "shine_ops.sandbox.legacy_app"],
    "crash_on_import": [sys.executable, "-c", "import application_hare_run_v6_clean"],  # FM-14: wsgi import fails
}


class PullFailed(Exception):
    """The task's image could not be pulled from the registry stand-in (ECS's CannotPullContainerError)."""


@dataclass
class LocalTask:
    task_arn: str
    task_ip: str  # the address AWS (moto) gave the task's ENI
    address: str  # where the local process listens
    port: int  # the PORT it binds
    service: str  # cluster/service
    security_groups: list[str]
    proc: subprocess.Popen | None = None
    log: str = ""
    task_definition: str = ""  # the revision the local process runs (the sandbox follows service updates)
    target_groups: list[tuple[str, int]] = field(default_factory=list)  # (TG ARN, port) it is registered in
    runtime: str = "process"  # or "container" (proc is then a container.ContainerProc)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def to_json(self) -> dict[str, Any]:
        out = {"task_arn": self.task_arn, "task_ip": self.task_ip, "address": self.address, "port": self.port,
               "service": self.service, "pid": self.proc.pid if self.proc else None, "log": self.log,
               "runtime": self.runtime}
        if self.runtime == "container":
            out["container"] = getattr(self.proc, "name", None)
            out["memory_limit_mib"] = getattr(self.proc, "memory_mib", None)
        return out


@dataclass
class TaskRunner:
    log_dir: str
    tasks: dict[str, LocalTask] = field(default_factory=dict)  # by task IP
    _next: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)
    seeded: set[str] = field(default_factory=set)  # "<service ARN>@<createdAt>" of the services seed created
    _launched: dict[str, str] = field(default_factory=dict)  # cluster/service -> identity whose tasks it ran
    runtime: str = "process"  # "container" or "process": how tasks run (choose_runtime)
    stopped: list[dict] = field(default_factory=list)  # tasks whose container exited by itself, as ECS stopped them
    registry: Any = None  # registry.Registry (the ECR stand-in) in container mode when docker-registry is here
    _failed_pulls: set[str] = field(default_factory=set)  # revisions whose image could not be pulled

    @staticmethod
    def unavailable_reason() -> str | None:
        """Why the reference service cannot run here (its extra is not installed), or None."""
        missing = [m for m in ("flask", "cv2", "keras", "reference_service") if importlib.util.find_spec(m) is None]
        if missing:
            return ("the reference service needs the 'service' extra (missing: " + ", ".join(missing)
                    + "); install shine-ops[service]")
        return None

    @staticmethod
    def choose_runtime() -> tuple[str, str]:
        """("container" | "process", why): containers when podman, runc and the image are here, unless
        SHINE_OPS_SANDBOX_RUNTIME says otherwise; "container" asked for and impossible is an error."""
        from shine_ops.errors import SandboxError
        from shine_ops.sandbox import image

        wanted = (os.environ.get("SHINE_OPS_SANDBOX_RUNTIME") or DEFAULT_RUNTIME).strip().lower()
        if wanted not in ("auto", "container", "process"):
            raise SandboxError(f"SHINE_OPS_SANDBOX_RUNTIME={wanted!r} is not auto, container or process",
                               hint="unset it, or set it to one of those")
        if wanted == "process":
            return "process", "SHINE_OPS_SANDBOX_RUNTIME=process"
        reason = image.unavailable_reason()
        if reason is None:
            return "container", f"tasks run the image {image.IMAGE} with podman"
        if wanted == "container":
            raise SandboxError(f"container tasks are impossible here: {reason}",
                               hint="or set SHINE_OPS_SANDBOX_RUNTIME=process")
        return "process", f"tasks run as local processes: {reason}"

    def by_ip(self, ip: str) -> LocalTask | None:
        return self.tasks.get(ip)

    def start(self, *, task_arn: str, task_ip: str, container: dict, service: str,
              security_groups: list[str], task_definition: str = "", address: str | None = None,
              task_memory: int | None = None) -> LocalTask | None:
        what = (container.get("dockerLabels") or {}).get(RUN_LABEL)
        if what not in RUNNABLE:
            return None
        image_ref = None
        if self.runtime == "container" and self.registry is not None and container.get("image"):
            image_ref, err = self.registry.pull(container["image"])  # as ECS pulls from ECR, by reference
            if image_ref is None:
                raise PullFailed(err)
        env = {e["name"]: e.get("value", "") for e in container.get("environment", [])}
        ports = [p["containerPort"] for p in container.get("portMappings", []) if "containerPort" in p]
        if self.runtime == "container":  # the image's ENV says PORT=8000 when the task definition does not
            port = int(env.get("PORT") or 8000)
        else:
            port = int(env.get("PORT") or (ports[0] if ports else 8000))
        ports_to_check = {port, *ports}
        if address is not None:  # a restart keeps the task's address
            return self._spawn(what, env, address, port, task_arn, task_ip, service, security_groups, task_definition,
                               container, task_memory, image_ref)
        block = os.getpid() % 250  # each sandbox daemon its own 127.77.<block>.0/24: two sandboxes never mix tasks
        with self._lock:  # and an address where neither the PORT nor the container port is taken
            while True:
                address = f"127.77.{(block + self._next // 250) % 250}.{self._next % 250 + 1}"
                self._next += 1
                if all(_free(address, p) for p in ports_to_check):
                    break
        return self._spawn(what, env, address, port, task_arn, task_ip, service, security_groups, task_definition,
                           container, task_memory, image_ref)

    def _spawn(self, what: str, env: dict, address: str, port: int, task_arn: str, task_ip: str, service: str,
               security_groups: list[str], task_definition: str, container: dict | None = None,
               task_memory: int | None = None, image_ref: str | None = None) -> LocalTask:
        log = os.path.join(self.log_dir, f"task-{address}.log")
        if self.runtime == "container":
            from shine_ops.sandbox import container as containers

            handle = containers.run(what=what, name=f"shine-sbx-{os.getpid()}-{address.replace('.', '-')}",
                                    env=env, address=address, container=container or {}, task_memory=task_memory,
                                    log=log, on_health=lambda status: _set_health(task_arn, status),
                                    **({"image": image_ref} if image_ref else {}))
            t = LocalTask(task_arn=task_arn, task_ip=task_ip, address=address, port=port, service=service,
                          security_groups=security_groups, proc=handle, log=log,  # type: ignore[arg-type]
                          task_definition=task_definition, runtime="container")
            self.tasks[task_ip] = t
            return t
        child_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        child_env.update(env)
        child_env.update({"HOST": address, "PORT": str(port), "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"})
        with open(log, "ab") as fh:
            proc = subprocess.Popen(RUNNABLE[what], stdin=subprocess.DEVNULL, stdout=fh, stderr=fh, env=child_env)
        t = LocalTask(task_arn=task_arn, task_ip=task_ip, address=address, port=port, service=service,
                      security_groups=security_groups, proc=proc, log=log, task_definition=task_definition)
        self.tasks[task_ip] = t
        return t

    def wait_ready(self, timeout_s: float = 90.0) -> dict[str, str]:
        """Wait until each task answers /ready (200), or has exited (a crashing container), or time runs out."""
        states: dict[str, str] = {}
        deadline = time.monotonic() + timeout_s
        for ip, t in self.tasks.items():
            states[ip] = self.wait_one(t, max(0.0, deadline - time.monotonic()))
        return states

    def follow_deployments(self, aws: Any) -> list[str]:
        """What ECS would do on update-service and moto does not: restart each local task on the service's new
        task definition revision (with that revision's environment). Returns what it did, for the log."""
        done = []
        for ip, t in list(self.tasks.items()):
            cluster, name = t.service.split("/", 1)
            found = aws.call("ecs", "DescribeServices", cluster=cluster, services=[name]).get("services", [])
            if not found or found[0].get("status", "ACTIVE") != "ACTIVE":
                continue  # deleted: follow_services stops its tasks
            svc = found[0]
            wanted = svc.get("taskDefinition", "")
            if not wanted or wanted == t.task_definition or wanted in self._failed_pulls:
                continue
            td = aws.call("ecs", "DescribeTaskDefinition", taskDefinition=wanted)["taskDefinition"]
            container = next((c for c in td["containerDefinitions"]
                              if (c.get("dockerLabels") or {}).get(RUN_LABEL) in RUNNABLE), None)
            if container is not None and self.registry is not None and container.get("image"):
                pulled, err = self.registry.pull(container["image"])
                if pulled is None:  # ECS: the new task fails to start, the running one stays
                    self._failed_pulls.add(wanted)
                    _failed_task(aws, cluster, name, wanted, svc, err)
                    done.append(f"{t.service}: {wanted.split('/')[-1]} cannot start: {err}; task {ip} keeps "
                                f"running {t.task_definition.split('/')[-1]}")
                    continue
            _terminate(t)
            if container is None:
                t.task_definition = wanted
                done.append(f"{t.service}: {wanted.split('/')[-1]} runs nothing locally; task {ip} stopped")
                continue
            new = self.start(task_arn=t.task_arn, task_ip=ip, container=container, service=t.service,
                             security_groups=t.security_groups, task_definition=wanted, address=t.address,
                             task_memory=_int(td.get("memory")))
            state = self.wait_one(new) if new else "not started"
            _mark_task_revision(t.task_arn, wanted)  # the task now runs the new revision, as ECS would show it
            done.append(f"{t.service}: task {ip} restarted on {wanted.split('/')[-1]} (port "
                        f"{new.port if new else '?'}): {state}")
        return done

    def follow_services(self, aws: Any) -> list[str]:
        """What ECS does and moto does not, for services created after seeding (a blue-green deploy's green
        service): run the service's tasks in moto, start them as local processes with the revision's
        environment and register their addresses in the service's target groups. And for any service that was
        deleted or scaled to 0: stop its local tasks, stop them in moto and deregister their addresses.
        Returns what it did, for the daemon log."""
        live = _active_services(aws)
        done = self._stop_gone(aws, live)
        local = {t.service for t in self.tasks.values()}
        for key, svc in live.items():
            ident = _identity(svc)
            if (key in local or ident in self.seeded or self._launched.get(key) == ident
                    or int(svc.get("desiredCount") or 0) <= 0):
                continue
            self._launched[key] = ident
            done.append(self._launch(aws, key, svc))
        return done

    def _stop_gone(self, aws: Any, live: dict[str, dict]) -> list[str]:
        """Stop the local tasks of services that are gone or want no task (as ECS drains and stops them)."""
        done = []
        for ip, t in list(self.tasks.items()):
            svc = live.get(t.service)
            if svc is not None and int(svc.get("desiredCount") or 0) > 0:
                continue
            why = "was deleted" if svc is None else "was scaled to 0"
            _terminate(t)
            cluster = t.service.split("/", 1)[0]
            try:
                aws.call("ecs", "StopTask", cluster=cluster, task=t.task_arn, reason=f"sandbox: service {why}")
            except Exception:  # noqa: BLE001 - already stopped or gone with its cluster
                pass
            groups = t.target_groups or [(m["targetGroupArn"], int(m.get("containerPort") or t.port))
                                         for m in (svc or {}).get("loadBalancers", []) if m.get("targetGroupArn")]
            for tg, port in groups:
                try:
                    aws.call("elbv2", "DeregisterTargets", TargetGroupArn=tg, Targets=[{"Id": ip, "Port": port}])
                except Exception:  # noqa: BLE001 - the target group may be deleted already
                    pass
            del self.tasks[ip]
            self._launched.pop(t.service, None)  # a later scale-up or re-creation runs tasks again
            if svc is not None:
                self.seeded.discard(_identity(svc))
            done.append(f"{t.service} {why}: task {ip} stopped (local process and moto task), deregistered")
        return done

    def _launch(self, aws: Any, key: str, svc: dict) -> str:
        """Run a new service's tasks in moto (as seed.py does for seeded services) and locally."""
        cluster, name = key.split("/", 1)
        td_arn = svc["taskDefinition"]
        td = aws.call("ecs", "DescribeTaskDefinition", taskDefinition=td_arn)["taskDefinition"]
        container = next((c for c in td["containerDefinitions"]
                          if (c.get("dockerLabels") or {}).get(RUN_LABEL) in RUNNABLE), None)
        if container is None:
            return f"{key}: created after seeding; {td_arn.split('/')[-1]} runs nothing locally, no task started"
        count = int(svc.get("desiredCount") or 1)
        params: dict[str, Any] = {"cluster": cluster, "taskDefinition": td_arn, "count": count,
                                  "launchType": svc.get("launchType") or "FARGATE", "group": f"service:{name}",
                                  "startedBy": f"ecs-svc/{name}"}
        if svc.get("networkConfiguration"):
            params["networkConfiguration"] = svc["networkConfiguration"]
        ran = aws.call("ecs", "RunTask", **params).get("tasks", [])
        sgs = ((svc.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}).get("securityGroups", [])
        mappings = [(m["targetGroupArn"], int(m["containerPort"])) for m in svc.get("loadBalancers", [])
                    if m.get("targetGroupArn") and m.get("containerPort")]
        started, states = [], []
        for task in ran:
            ip = next((d["value"] for a in task.get("attachments", []) for d in a.get("details", [])
                       if d["name"] == "privateIPv4Address"), None)
            if not ip:
                continue
            try:
                t = self.start(task_arn=task["taskArn"], task_ip=ip, container=container, service=key,
                               security_groups=sgs, task_definition=td_arn, task_memory=_int(td.get("memory")))
            except PullFailed as exc:
                _stop_unstarted(aws, cluster, task["taskArn"], str(exc))
                states.append(f"{ip}: {exc}")
                continue
            if t is None:
                continue
            t.target_groups = list(mappings)
            for tg, port in mappings:  # what ECS does for a service behind a target group
                aws.call("elbv2", "RegisterTargets", TargetGroupArn=tg, Targets=[{"Id": ip, "Port": port}])
            started.append(ip)
        _set_running_count(svc["serviceArn"], len(started))
        for ip in started:
            states.append(f"{ip}: {self.wait_one(self.tasks[ip])}")
        groups = ", ".join(tg.split("/")[-2] for tg, _ in mappings) or "no target group"
        return (f"{key}: created after seeding and moto starts no task: ran {len(started)} task(s) on "
                f"{td_arn.split('/')[-1]}, registered in {groups}: {'; '.join(states) or 'none started'}")

    def wait_one(self, t: LocalTask, timeout_s: float = 60.0) -> str:
        """Until the task answers /ready (200) or has exited."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if not t.alive:
                if t.runtime == "container":
                    _, code, why = t.proc.ecs_stop()  # type: ignore[union-attr]
                    return f"exited with code {code} ({why})"
                return f"exited with code {t.proc.returncode if t.proc else '?'}"
            state = _ready(t)
            if state is not None:
                return state
            time.sleep(0.25 if t.runtime == "process" else 0.5)
        return "not ready in time"

    def reap(self, aws: Any) -> list[str]:
        """What ECS does when a task's essential container exits by itself (a crash, the memory limit): the
        task is STOPPED with ECS's reason and exit code, and its address leaves the target groups. Only
        containers are reaped (a local process has no memory limit to die at). Returns what it did."""
        done = []
        for ip, t in list(self.tasks.items()):
            if t.runtime != "container" or t.proc is None or t.proc.stopping or t.alive:  # type: ignore[union-attr]
                continue
            reason, code, why = t.proc.ecs_stop()  # type: ignore[union-attr]
            _mark_stopped(t.task_arn, reason, code, why)
            for tg, port in t.target_groups:
                try:
                    aws.call("elbv2", "DeregisterTargets", TargetGroupArn=tg, Targets=[{"Id": ip, "Port": port}])
                except Exception:  # noqa: BLE001 - the target group may be deleted already
                    pass
            del self.tasks[ip]
            self.stopped.append(t.to_json() | {"stopped_reason": reason, "exit_code": code, "reason": why})
            done.append(f"{t.service}: task {ip} stopped: {reason}: {why} (exit code {code}); deregistered")
        return done

    def stop_all(self) -> None:
        for t in self.tasks.values():
            if t.alive:
                t.proc.terminate()  # type: ignore[union-attr]
        for t in self.tasks.values():
            if t.proc is not None:
                try:
                    t.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    t.proc.kill()
        if self.runtime == "container":
            from shine_ops.sandbox import container as containers

            containers.remove_leftovers(os.getpid())
        if self.registry is not None:
            self.registry.stop()  # the exited ones too (reaped tasks keep theirs for logs)


RUNNER: TaskRunner | None = None  # the daemon's runner; health.py and alb.py read it in-process


def _terminate(t: LocalTask, timeout_s: float = 15.0) -> None:
    """Stop a local task as ECS stops a container: SIGTERM, then SIGKILL after the grace time."""
    if t.alive:
        t.proc.terminate()  # type: ignore[union-attr]
        try:
            t.proc.wait(timeout=timeout_s)  # type: ignore[union-attr]
        except subprocess.TimeoutExpired:
            t.proc.kill()  # type: ignore[union-attr]
    if t.runtime == "container" and t.proc is not None:
        t.proc.remove()  # type: ignore[union-attr]


def _ready(t: LocalTask) -> str | None:
    """The task's /ready answer (its status), or None while it does not answer 200. A container is asked from
    inside, on the port the app was told: its readiness, even when that port is not the published one."""
    if t.runtime == "container":
        from shine_ops.sandbox import container as containers

        return containers.ready_inside(t.proc, t.port)  # type: ignore[arg-type]
    import requests

    try:
        r = requests.get(f"http://{t.address}:{t.port}/ready", timeout=2)
        if r.status_code == 200:
            return str((r.json() or {}).get("status", "ready"))
    except (requests.RequestException, ValueError):
        pass
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _free(address: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True
