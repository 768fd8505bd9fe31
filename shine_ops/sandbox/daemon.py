"""The sandbox daemon: one background process owning a moto server on a free loopback port.

Started by ``shine-ops sandbox up`` (never by hand). It seeds the scenario through the AWS API, writes
the state file, and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import traceback


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shine-ops-sandbox-daemon")
    parser.add_argument("--scenario", required=True)
    args = parser.parse_args(argv)

    from shine_ops.sandbox.state import clear_state, write_state

    pid = os.getpid()
    started = time.time()
    write_state({"pid": pid, "status": "starting", "scenario": args.scenario, "started_at": started})
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = None
    try:
        from moto.moto_api import state_manager
        from moto.server import ThreadedMotoServer

        from shine_ops.aws import Aws, ConnectionOptions
        from shine_ops.sandbox import health
        from shine_ops.sandbox.scenario import load_scenario
        from shine_ops.sandbox.alb import AlbEmulator
        from shine_ops.sandbox.seed import seed

        logging.getLogger("werkzeug").setLevel(logging.WARNING)

        scenario = load_scenario(args.scenario)
        health.install(default_scale=health.DAEMON_SCALE)
        state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10 ** 6})
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        aws = Aws(ConnectionOptions(sandbox=True, endpoint_url=endpoint, region=scenario["region"]))

        def before_service(spec: dict) -> None:
            # moto reads this when the service is created (its ECS services never start tasks by themselves).
            os.environ["MOTO_ECS_SERVICE_RUNNING"] = str(int(spec.get("running", spec.get("desired", 1))))

        seeded = seed(aws, scenario, before_service=before_service)
        held = after_seed(scenario, seeded)
        seed_calls, seeded_in = aws.calls.total, round(time.time() - started, 2)
        runner_note, local = start_tasks(aws, seeded)
        from shine_ops.sandbox import rollouts, tasks as task_runner

        rollouts.hold(task_runner.RUNNER, held)  # a simulated rollout stays as the scenario declares it
        alb = AlbEmulator(aws).start()
        from shine_ops.sandbox import dns as sandbox_dns

        dns_endpoint, dns_note = sandbox_dns.start_for(aws, scenario)  # serves the zones; scaffolding: sandbox_dns
        write_state({"pid": pid, "status": "ready", "scenario": scenario["name"], "endpoint": endpoint,
                     "port": port, "region": scenario["region"], "target": scenario.get("target", {}),
                     "alb_endpoint": alb.endpoint, "service_runner": runner_note, "tasks": local,
                     "dns_endpoint": dns_endpoint, "dns_server": dns_note, **RUNTIME,
                     "started_at": started, "seeded_in_s": seeded_in, "seed_calls": seed_calls,
                     "ready_in_s": round(time.time() - started, 2)})
        print(f"sandbox ready at {endpoint} (scenario {scenario['name']})", flush=True)
    except Exception as exc:  # noqa: BLE001 - reported through the state file to `sandbox up`
        traceback.print_exc()
        write_state({"pid": pid, "status": "failed", "scenario": args.scenario,
                     "error": f"{type(exc).__name__}: {exc}"})
        return 1
    try:
        from shine_ops.sandbox import tasks

        last_reap = 0.0
        while not stop.wait(0.5):
            if tasks.RUNNER is not None:  # moto does not move deployments: the sandbox does, and logs it
                try:
                    if tasks.RUNNER.runtime == "container" and time.monotonic() - last_reap > 2.0:
                        last_reap = time.monotonic()  # a container that exited by itself: a stopped task
                        for line in tasks.RUNNER.reap(aws):
                            print(f"sandbox task: {line}", flush=True)
                    for line in tasks.RUNNER.follow_deployments(aws):
                        print(f"sandbox deployment: {line}", flush=True)
                    # nor start the tasks of a new service (blue-green's green) or stop those of a deleted one
                    for line in tasks.RUNNER.follow_services(aws):
                        print(f"sandbox service: {line}", flush=True)
                except Exception as exc:  # noqa: BLE001 - keep serving; the log says what failed
                    print(f"sandbox deployment follower: {type(exc).__name__}: {exc}", flush=True)
    finally:
        from shine_ops.sandbox import tasks

        if tasks.RUNNER is not None:
            tasks.RUNNER.stop_all()
        from shine_ops.sandbox import dns as sandbox_dns

        sandbox_dns.stop()
        if server is not None:
            try:
                server.stop()
            except Exception:  # noqa: BLE001
                pass
        clear_state(pid)
    return 0


def after_seed(scenario: dict, seeded) -> list[str]:
    """In-process scaffolding for what the AWS API cannot seed (moto must run in this process): load balancer
    ``state``, the exit code, container reason and stop code of the scenario's ``stopped_tasks``, the service
    ``events`` (newest first) and its ``deployments`` (``sandbox.rollouts``). Returns the services whose rollout
    is simulated."""
    import datetime as dt

    from moto.ecs.models import ecs_backends
    from moto.elbv2.models import elbv2_backends

    region = scenario.get("region", "us-east-1")
    for name, lb in (getattr(seeded, "load_balancers", {}) or {}).items():
        if lb.get("state"):  # no AWS API sets a load balancer's state (alb.active scenario)
            model = elbv2_backends[lb["arn"].split(":")[4]][region].load_balancers.get(lb["arn"])
            if model is not None:
                model.state = lb["state"]
    for cluster, cl in (scenario.get("clusters") or {}).items():
        for sname, svc in (cl.get("services") or {}).items():
            arn = seeded.services.get(f"{cluster}/{sname}")
            if not arn:
                continue
            backend = ecs_backends[arn.split(":")[4]][region]
            for task_arn, spec in getattr(seeded, "stopped_tasks", {}).get(f"{cluster}/{sname}", []):
                task = backend.tasks.get(cluster, {}).get(task_arn)
                if task is None:
                    continue
                task.stop_code = spec.get("stop_code", "EssentialContainerExited")
                for c in task.containers:
                    c.last_status = "STOPPED"
                    if spec.get("exit_code") is not None:
                        c.exitCode = int(spec["exit_code"])
                    if spec.get("container_reason"):
                        c.reason = str(spec["container_reason"])
            model = backend.services.get(f"{cluster}:{sname}")
            now = dt.datetime.now(dt.timezone.utc)
            for i, message in enumerate(svc.get("events") or []):
                if model is not None:
                    model.events.append({"id": f"shine-ops-{i}", "createdAt": now - dt.timedelta(minutes=i),
                                         "message": str(message)})
    from shine_ops.sandbox.rollouts import simulate_deployments

    return simulate_deployments(scenario, seeded)


RUNTIME: dict[str, str] = {"task_runtime": "process", "task_runtime_note": ""}  # what start_tasks chose


def start_registry(aws, seeded, runner) -> dict[str, str]:
    """Container mode: the ECR stand-in, holding the reference service's image under every image reference the
    seeded task definitions name (what the team had pushed). Without docker-registry, tasks run the local
    image and no pull is emulated (said in the state)."""
    from shine_ops.sandbox import registry, tasks
    from shine_ops.sandbox.state import state_dir

    reason = registry.unavailable_reason()
    if reason:
        return {"registry": reason}
    from shine_ops.errors import ShineOpsError

    try:
        reg = registry.start(str(state_dir()))
    except ShineOpsError as exc:  # the sandbox still runs: tasks use the local image, no pull is emulated
        return {"registry": f"not started: {exc}"}
    uris = set()
    for arn in getattr(seeded, "task_definitions", {}).values():
        td = aws.call("ecs", "DescribeTaskDefinition", taskDefinition=arn)["taskDefinition"]
        uris |= {c["image"] for c in td["containerDefinitions"]
                 if c.get("image") and (c.get("dockerLabels") or {}).get(tasks.RUN_LABEL) in tasks.RUNNABLE}
    try:
        pushed = sum(reg.push(uri) for uri in sorted(uris))
    except (ShineOpsError, OSError, subprocess.TimeoutExpired) as exc:
        reg.stop()
        return {"registry": f"not used: pushing the image failed: {exc}"}
    runner.registry = reg
    return {"registry": f"docker-registry at {reg.endpoint} (stand-in for ECR): holds the {len(uris)} image "
                        f"reference(s) of the scenario ({pushed} pushed now, {len(uris) - pushed} already there); "
                        f"any other tag fails to pull"}


def start_tasks(aws, seeded) -> tuple[str, list[dict]]:
    """Run every seeded task whose container is marked runnable; wait until each answers /ready."""
    from shine_ops.sandbox import tasks

    from shine_ops.sandbox.state import state_dir

    runtime, why = tasks.TaskRunner.choose_runtime()
    RUNTIME.update(task_runtime=runtime, task_runtime_note=why)
    reason = tasks.TaskRunner.unavailable_reason() if runtime == "process" else None
    if reason:  # the image holds the service's stack: only process mode needs the 'service' extra here
        return reason, []
    runner = tasks.RUNNER = tasks.TaskRunner(log_dir=str(state_dir()), runtime=runtime)
    if runtime == "container":
        from shine_ops.sandbox import container as containers

        containers.remove_leftovers()  # of a daemon that was killed before it could remove its own
        RUNTIME.update(start_registry(aws, seeded, runner))
    # the seeded services keep the scenario's state (running 0 stays 0); only services created later get tasks
    runner.seeded = {tasks._identity(s) for s in tasks._active_services(aws).values()}
    for key, arns in seeded.tasks.items():
        cluster, service = key.split("/", 1)
        if not arns:
            continue
        svc = aws.call("ecs", "DescribeServices", cluster=cluster, services=[service])["services"][0]
        sgs = ((svc.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}).get("securityGroups", [])
        mappings = [(m["targetGroupArn"], int(m["containerPort"])) for m in svc.get("loadBalancers", [])
                    if m.get("targetGroupArn") and m.get("containerPort")]
        for task in aws.call("ecs", "DescribeTasks", cluster=cluster, tasks=arns)["tasks"]:
            ip = next((d["value"] for a in task.get("attachments", []) for d in a.get("details", [])
                       if d["name"] == "privateIPv4Address"), None)
            td = aws.call("ecs", "DescribeTaskDefinition", taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
            for container in td["containerDefinitions"]:
                if ip:
                    try:
                        t = runner.start(task_arn=task["taskArn"], task_ip=ip, container=container, service=key,
                                         security_groups=sgs, task_definition=task["taskDefinitionArn"],
                                         task_memory=tasks._int(td.get("memory")))
                    except tasks.PullFailed as exc:
                        tasks._stop_unstarted(aws, cluster, task["taskArn"], str(exc))
                        continue
                    if t is not None:
                        t.target_groups = list(mappings)
    if not runner.tasks:
        return "no task of this scenario runs the reference service", []
    states = runner.wait_ready()
    return "running", [t.to_json() | {"state": states.get(ip, "?")} for ip, t in runner.tasks.items()]


if __name__ == "__main__":
    sys.exit(main())
