"""The sandbox's task runner: each ECS task of a service marked to run the reference service becomes a
real local process, started with the task definition's environment.

Each task gets its own loopback address (127.77.0.N) and binds the ``PORT`` its environment says, so a
task definition whose ``PORT`` disagrees with the container port really listens on the wrong port, exactly
as on Fargate. Processes share the daemon's process group, so stopping the daemon stops them.
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

RUN_LABEL = "shine-ops.sandbox.run"  # dockerLabels key marking a container the sandbox runs for real
RUNNABLE = {
    "reference_service": [sys.executable, "-m", "reference_service"],
    # the recorded broken backends (scaffolding for scenarios): FM-15..FM-17 and FM-14
    "legacy_shine_v6": [sys.executable, "-m", "shine_ops.sandbox.legacy_app"],
    "crash_on_import": [sys.executable, "-c", "import application_hare_run_v6_clean"],  # FM-14: wsgi import fails
}


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

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def to_json(self) -> dict[str, Any]:
        return {"task_arn": self.task_arn, "task_ip": self.task_ip, "address": self.address, "port": self.port,
                "service": self.service, "pid": self.proc.pid if self.proc else None, "log": self.log}


@dataclass
class TaskRunner:
    log_dir: str
    tasks: dict[str, LocalTask] = field(default_factory=dict)  # by task IP
    _next: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)
    seeded: set[str] = field(default_factory=set)  # "<service ARN>@<createdAt>" of the services seed created
    _launched: dict[str, str] = field(default_factory=dict)  # cluster/service -> identity whose tasks it ran

    @staticmethod
    def unavailable_reason() -> str | None:
        """Why the reference service cannot run here (its extra is not installed), or None."""
        missing = [m for m in ("flask", "cv2", "keras", "reference_service") if importlib.util.find_spec(m) is None]
        if missing:
            return ("the reference service needs the 'service' extra (missing: " + ", ".join(missing)
                    + "); install shine-ops[service]")
        return None

    def by_ip(self, ip: str) -> LocalTask | None:
        return self.tasks.get(ip)

    def start(self, *, task_arn: str, task_ip: str, container: dict, service: str,
              security_groups: list[str], task_definition: str = "", address: str | None = None) -> LocalTask | None:
        what = (container.get("dockerLabels") or {}).get(RUN_LABEL)
        if what not in RUNNABLE:
            return None
        env = {e["name"]: e.get("value", "") for e in container.get("environment", [])}
        ports = [p["containerPort"] for p in container.get("portMappings", []) if "containerPort" in p]
        port = int(env.get("PORT") or (ports[0] if ports else 8000))
        ports_to_check = {port, *ports}
        if address is not None:  # a restart keeps the task's address
            return self._spawn(what, env, address, port, task_arn, task_ip, service, security_groups, task_definition)
        block = os.getpid() % 250  # each sandbox daemon its own 127.77.<block>.0/24: two sandboxes never mix tasks
        with self._lock:  # and an address where neither the PORT nor the container port is taken
            while True:
                address = f"127.77.{(block + self._next // 250) % 250}.{self._next % 250 + 1}"
                self._next += 1
                if all(_free(address, p) for p in ports_to_check):
                    break
        return self._spawn(what, env, address, port, task_arn, task_ip, service, security_groups, task_definition)

    def _spawn(self, what: str, env: dict, address: str, port: int, task_arn: str, task_ip: str, service: str,
               security_groups: list[str], task_definition: str) -> LocalTask:
        log = os.path.join(self.log_dir, f"task-{address}.log")
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
        import requests

        states: dict[str, str] = {}
        deadline = time.monotonic() + timeout_s
        for ip, t in self.tasks.items():
            while time.monotonic() < deadline:
                if not t.alive:
                    states[ip] = f"exited with code {t.proc.returncode if t.proc else '?'}"
                    break
                try:
                    r = requests.get(f"http://{t.address}:{t.port}/ready", timeout=2)
                    if r.status_code == 200:
                        states[ip] = (r.json() or {}).get("status", "ready")
                        break
                except (requests.RequestException, ValueError):
                    pass
                time.sleep(0.25)
            else:
                states[ip] = "not ready in time"
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
            if not wanted or wanted == t.task_definition:
                continue
            td = aws.call("ecs", "DescribeTaskDefinition", taskDefinition=wanted)["taskDefinition"]
            container = next((c for c in td["containerDefinitions"]
                              if (c.get("dockerLabels") or {}).get(RUN_LABEL) in RUNNABLE), None)
            _terminate(t)
            if container is None:
                t.task_definition = wanted
                done.append(f"{t.service}: {wanted.split('/')[-1]} runs nothing locally; task {ip} stopped")
                continue
            new = self.start(task_arn=t.task_arn, task_ip=ip, container=container, service=t.service,
                             security_groups=t.security_groups, task_definition=wanted, address=t.address)
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
            t = self.start(task_arn=task["taskArn"], task_ip=ip, container=container, service=key,
                           security_groups=sgs, task_definition=td_arn)
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
        import requests

        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if not t.alive:
                return f"exited with code {t.proc.returncode if t.proc else '?'}"
            try:
                r = requests.get(f"http://{t.address}:{t.port}/ready", timeout=2)
                if r.status_code == 200:
                    return str((r.json() or {}).get("status", "ready"))
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.25)
        return "not ready in time"

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


RUNNER: TaskRunner | None = None  # the daemon's runner; health.py and alb.py read it in-process


def _terminate(t: LocalTask, timeout_s: float = 15.0) -> None:
    """Stop a local task as ECS stops a container: SIGTERM, then SIGKILL after the grace time."""
    if t.alive:
        t.proc.terminate()  # type: ignore[union-attr]
        try:
            t.proc.wait(timeout=timeout_s)  # type: ignore[union-attr]
        except subprocess.TimeoutExpired:
            t.proc.kill()  # type: ignore[union-attr]


def _free(address: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True


def _identity(svc: dict) -> str:
    """A service's identity across delete and re-create (same ARN, new creation time)."""
    return f"{svc.get('serviceArn')}@{svc.get('createdAt')}"


def _active_services(aws: Any) -> dict[str, dict]:
    """cluster/service -> DescribeServices entry, for every ACTIVE service of every cluster."""
    from shine_ops.topology.account import cluster_services

    out: dict[str, dict] = {}
    for carn in aws.call("ecs", "ListClusters").get("clusterArns", []):
        for s in cluster_services(aws, carn):
            if s.get("status", "ACTIVE") == "ACTIVE":
                out[f"{carn.split('/')[-1]}/{s['serviceName']}"] = s
    return out


def _set_running_count(service_arn: str, count: int) -> None:
    """In the daemon's moto: runningCount follows the tasks the sandbox started (moto fixes it at creation
    from MOTO_ECS_SERVICE_RUNNING)."""
    from moto.ecs.models import ecs_backends

    acct, region = service_arn.split(":")[4], service_arn.split(":")[3]
    for svc in ecs_backends[acct][region].services.values():
        if getattr(svc, "arn", None) == service_arn:
            svc.running_count = count


def _mark_task_revision(task_arn: str, td_arn: str) -> None:
    """In the daemon's moto: the task's taskDefinitionArn follows the restart (moto never moves deployments)."""
    from moto.ecs.models import ecs_backends

    acct, region = task_arn.split(":")[4], task_arn.split(":")[3]
    for tasks in ecs_backends[acct][region].tasks.values():
        task = tasks.get(task_arn)
        if task is not None:
            task.task_definition_arn = td_arn
