#!/usr/bin/env python3
"""Benchmark: how the cost of one ``shine-ops diagnose`` grows with the size of the AWS account.

What is measured
  A moto server (``ThreadedMotoServer`` on 127.0.0.1, a free port, in this process) is seeded through
  the AWS API (``shine_ops.sandbox.seed.seed``) once per account size, after ``POST /moto-api/reset``.
  Every account holds:
    * the target's full path: one VPC with 2 subnets, a hosted zone ``example.com`` with an alias A record
      ``api.example.com`` -> ALB ``api-alb``, an HTTPS:443 listener (imported self-signed certificate)
      forwarding to target group ``api-tg`` on port 8000 (plus HTTP:80 redirecting to HTTPS), ECS cluster
      ``prod`` with service ``api`` (its own task definition, one task run and registered in the target
      group, frozen RUNNING), security groups ALB -> task on 8000;
    * ``services - 1`` extra services in the same cluster, each with its own task definition and target
      group, behind ``ceil((services - 1) / 10)`` extra ALBs whose HTTP:80 listener has one path-pattern
      rule per service (distinct priorities) and a fixed-response 404 default; each extra service also has
      an alias record ``svc-NNN.example.com`` to its ALB. Extra services run no tasks (``run_tasks=False``
      for speed); ``MOTO_ECS_SERVICE_RUNNING=1`` makes every service report one running task.
  Then, per size, one diagnosis with the ``snail-trail`` playbook, in process as the CLI does it
  (``shine_ops.engine.runner.run`` on a fresh ``Aws``), in two modes:
    (a) ``--cluster prod --service api`` given,   (b) ``--domain api.example.com`` only,
  repeated (default 3 times; the wall time is the median, and the call counts must be the same each
  time; Python's garbage collector is frozen at the seeded state first, so that moto's in-process state
  does not bill the diagnosis for collections a CLI process would never do), plus the real CLI once
  as a subprocess (``shine-ops diagnose ... --cluster --service --format
  json --no-probe``), whose ``api_calls.total`` and ``duration_s`` come from its JSON report.

A warm-up seed and diagnosis (not reported) come first, so no size pays moto's and botocore's first-use
cost. Printed: seed time per size; per size and mode the API calls (total and the operations whose count grew
against the smallest size), the wall time, what the diagnosis resolved and its check summary. The design
target: calls stay flat as the account grows apart from pagination; mode (a) flat, mode (b) grows by
``ceil(services / 10)`` DescribeServices calls. This is a benchmark, not a test: it prints figures and
exits 0 unless it could not run at all.

Run:  . .venv/bin/activate && python bench/diagnose_scale.py [--sizes 1,10,100] [--repeats 3]
      . .venv/bin/activate && python bench/diagnose_scale.py --tortoise [--sizes 10,100,300]
      (the full-account tortoise audit on the same accounts: bench/tortoise_scale.py; one diagnosis at
      +100 ms per exchange, and diagnose --all / audit against the tortoise: bench/collection_scale.py)
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REGION = "us-east-1"
ZONE = "example.com"
DOMAIN = f"api.{ZONE}"
CLUSTER = "prod"
SERVICE = "api"
SERVICES_PER_ALB = 10


# -- environment -------------------------------------------------------------------------------------
def isolate_env() -> None:
    """Dummy credentials, no profile, no configured endpoints: nothing here can reach a real account."""
    for var in list(os.environ):
        if var.startswith("AWS_ENDPOINT_URL") or var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                                                         "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                                                         "SHINE_OPS_MAX_ATTEMPTS"):
            del os.environ[var]
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        # moto reads it when a service is created: services report runningCount 1 (moto's ECS documentation).
        "MOTO_ECS_SERVICE_RUNNING": "1",
    })


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "shine-ops"
    return [str(script)] if script.exists() else [sys.executable, "-m", "shine_ops"]


# -- the account -------------------------------------------------------------------------------------
def extra_name(i: int) -> str:
    return f"svc-{i:03d}"


def build_scenario(services: int) -> dict[str, Any]:
    """The scenario dict (the format of shine_ops/sandbox/scenarios/*.yaml) of an account of ``services``."""
    extras = [extra_name(i) for i in range(1, services)]
    n_albs = math.ceil(len(extras) / SERVICES_PER_ALB)

    def task_def(name: str) -> dict:
        return {"cpu": "256", "memory": "512", "containers": {name: {
            "image": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{name}:bench", "port": 8000, "memory": 512,
            "environment": {"PORT": "8000"}}}}

    def service(name: str, tg: str, sg: str) -> dict:
        return {"task_definition": name, "desired": 1, "running": 1, "security_groups": [sg],
                "subnets": ["a", "b"], "load_balancers": [{"target_group": tg, "container": name, "port": 8000}]}

    hc = {"path": "/health", "port": "traffic-port", "matcher": "200"}
    sc: dict[str, Any] = {
        "name": f"scale-{services}", "region": REGION, "target": {"domain": DOMAIN},
        "vpc": {"cidr": "10.20.0.0/16", "subnets": {"a": {"cidr": "10.20.0.0/20", "az": f"{REGION}a"},
                                                    "b": {"cidr": "10.20.16.0/20", "az": f"{REGION}b"}}},
        "security_groups": {
            "alb": {"name": "api-alb-sg", "description": "api ALB", "ingress": [
                {"port": 443, "cidr": "0.0.0.0/0"}, {"port": 80, "cidr": "0.0.0.0/0"}]},
            "ecs": {"name": "api-ecs-sg", "description": "api tasks", "ingress": [
                {"port": 8000, "source_group": "alb"}]},
        },
        "certificates": {"api": {"domain": DOMAIN, "sans": []}},
        "target_groups": {"api-tg": {"port": 8000, "target_type": "ip", "health_check": hc}},
        "load_balancers": {"api-alb": {"security_groups": ["alb"], "subnets": ["a", "b"], "listeners": {
            "https": {"port": 443, "protocol": "HTTPS", "certificate": "api", "default": {"forward": "api-tg"}},
            "http": {"port": 80, "protocol": "HTTP", "default": {"redirect_https": True}},
        }}},
        "task_definitions": {SERVICE: task_def(SERVICE)},
        "clusters": {CLUSTER: {"services": {SERVICE: service(SERVICE, "api-tg", "ecs")}}},
        "hosted_zones": {ZONE: {"records": {"api": {"type": "A", "alias": "api-alb"}}}},
    }
    if extras:
        sc["security_groups"]["extra-alb"] = {"name": "extra-alb-sg", "description": "extra ALBs",
                                              "ingress": [{"port": 80, "cidr": "0.0.0.0/0"}]}
        sc["security_groups"]["extra-ecs"] = {"name": "extra-ecs-sg", "description": "extra tasks",
                                              "ingress": [{"port": 8000, "source_group": "extra-alb"}]}
    for k in range(n_albs):
        alb = f"extra-alb-{k:02d}"
        chunk = extras[k * SERVICES_PER_ALB:(k + 1) * SERVICES_PER_ALB]
        rules = {}
        for j, name in enumerate(chunk):
            tg = f"{name}-tg"
            sc["target_groups"][tg] = {"port": 8000, "target_type": "ip", "health_check": hc}
            sc["task_definitions"][name] = task_def(name)
            sc["clusters"][CLUSTER]["services"][name] = service(name, tg, "extra-ecs")
            sc["hosted_zones"][ZONE]["records"][name] = {"type": "A", "alias": alb}
            rules[10 * (j + 1)] = {"paths": [f"/{name}/*"], "forward": tg}
        sc["load_balancers"][alb] = {"security_groups": ["extra-alb"], "subnets": ["a", "b"], "listeners": {
            "http": {"port": 80, "protocol": "HTTP", "default": {"fixed_response": 404}, "rules": rules}}}
    return sc


def reset(endpoint: str) -> None:
    req = urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()
    # moto steps a task one state forward per describe_tasks (RUNNING -> ... -> STOPPED after 4);
    # freeze them so every repeat diagnoses the same RUNNING task (what the sandbox daemon does too).
    from moto.moto_api import state_manager

    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10 ** 6})


def seed_account(endpoint: str, services: int) -> tuple[float, int, dict[str, int]]:
    """Reset the server and seed an account of ``services``; returns (seconds, API calls, resource counts)."""
    from shine_ops.aws import Aws, ConnectionOptions
    from shine_ops.sandbox.seed import seed

    reset(endpoint)
    sc = build_scenario(services)
    aws = Aws(ConnectionOptions(sandbox=True, endpoint_url=endpoint, region=REGION))
    t0 = time.perf_counter()

    def before_service(spec: dict) -> None:
        os.environ["MOTO_ECS_SERVICE_RUNNING"] = str(int(spec.get("running", spec.get("desired", 1))))

    s = seed(aws, sc, before_service=before_service, run_tasks=False)
    # Only the target service runs a task, registered in its target group as ECS would.
    net = {"awsvpcConfiguration": {"subnets": [s.subnets["a"], s.subnets["b"]],
                                   "securityGroups": [s.security_groups["ecs"]], "assignPublicIp": "DISABLED"}}
    tasks = aws.call("ecs", "RunTask", cluster=CLUSTER, taskDefinition=s.task_definitions[SERVICE], count=1,
                     launchType="FARGATE", group=f"service:{SERVICE}", startedBy=f"ecs-svc/{SERVICE}",
                     networkConfiguration=net)["tasks"]
    ips = [d["value"] for t in tasks for a in t.get("attachments", []) for d in a.get("details", [])
           if d["name"] == "privateIPv4Address"]
    if ips:
        aws.call("elbv2", "RegisterTargets", TargetGroupArn=s.target_groups["api-tg"],
                 Targets=[{"Id": ip, "Port": 8000} for ip in ips])
    elapsed = time.perf_counter() - t0
    counts = {"services": len(s.services), "target groups": len(s.target_groups),
              "ALBs": len(s.load_balancers), "rules": sum(len(l.get("rules") or {}) for lb in
                                                          sc["load_balancers"].values()
                                                          for l in lb["listeners"].values()),
              "records": len(sc["hosted_zones"][ZONE]["records"])}
    return elapsed, aws.calls.total, counts


# -- diagnoses ---------------------------------------------------------------------------------------
def diagnose_in_process(endpoint: str, mode: str, playbook: Any, repeats: int) -> dict[str, Any]:
    from shine_ops.aws import Aws, ConnectionOptions
    from shine_ops.engine.runner import run
    from shine_ops.topology.collect import Target

    walls, durations, by_ops = [], [], []
    report = None
    for _ in range(repeats):
        target = (Target(cluster=CLUSTER, service=SERVICE) if mode == "a" else Target(domain=DOMAIN))
        # The moto server lives in this process: its state (hundreds of thousands of objects) would make
        # every full garbage collection during the run cost 0.2-0.8 s, a cost the CLI process never pays.
        # Freeze what exists now so the collector only scans what the diagnosis itself allocates.
        gc.collect()
        gc.freeze()
        try:
            t0 = time.perf_counter()
            aws = Aws(ConnectionOptions(endpoint_url=endpoint, region=REGION))
            report = run(aws, target, playbook)
            walls.append(time.perf_counter() - t0)
        finally:
            gc.unfreeze()
        durations.append(report.duration_s)
        by_ops.append(dict(report.api_calls["by_operation"]))
    assert report is not None
    return {"wall_s": statistics.median(walls), "wall_min_s": min(walls), "duration_s": statistics.median(durations),
            "by_operation": by_ops[0], "stable": all(b == by_ops[0] for b in by_ops),
            "retries": report.api_calls.get("retries", 0), "summary": report.summary,
            "resolved": f"{report.target.get('cluster')}/{report.target.get('service')} "
                        f"<- {report.target.get('domain')}",
            "failing": [f.check for f in report.findings if f.status in ("fail", "error")]}


def diagnose_cli(endpoint: str) -> dict[str, Any]:
    cmd = [*cli_command(), "diagnose", "--endpoint-url", endpoint, "--region", REGION, "--cluster", CLUSTER,
           "--service", SERVICE, "--format", "json", "--no-probe"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=300)
    wall = time.perf_counter() - t0
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {"error": f"exit {proc.returncode}, no JSON on stdout; stderr: {proc.stderr.strip()[-400:]}"}
    return {"exit": proc.returncode, "wall_s": wall, "total": doc["api_calls"]["total"],
            "duration_s": doc["duration_s"], "by_operation": doc["api_calls"]["by_operation"],
            "summary": doc.get("summary")}


# -- output ------------------------------------------------------------------------------------------
def grown(base: dict[str, int], now: dict[str, int]) -> str:
    ops = sorted(set(base) | set(now))
    diffs = [f"{op} {base.get(op, 0)}->{now.get(op, 0)}" for op in ops if now.get(op, 0) > base.get(op, 0)]
    shrunk = [f"{op} {base.get(op, 0)}->{now.get(op, 0)}" for op in ops if now.get(op, 0) < base.get(op, 0)]
    return ", ".join(diffs + [f"(fewer: {s})" for s in shrunk]) or "-"


def summary_text(s: dict[str, int] | None) -> str:
    if not s:
        return "?"
    return " ".join(f"{k}{v}" for k, v in (("P", s.get("pass", 0)), ("F", s.get("fail", 0)),
                                           ("W", s.get("warn", 0)), ("S", s.get("skip", 0)),
                                           ("E", s.get("error", 0))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,10,100", help="account sizes in ECS services (default 1,10,100)")
    parser.add_argument("--repeats", type=int, default=3, help="in-process diagnoses per size and mode (median)")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI subprocess run")
    parser.add_argument("--tortoise", action="store_true",
                        help="the full-account tortoise audit instead (API calls and wall time per size)")
    args = parser.parse_args(argv)
    if args.tortoise:
        import tortoise_scale  # same folder; it seeds with this module's accounts

        return tortoise_scale.main(["--sizes", args.sizes if args.sizes != "1,10,100" else "10,100,300"])
    try:
        sizes = sorted({int(x) for x in args.sizes.split(",") if x.strip()})
    except ValueError:
        parser.error("--sizes takes whole numbers separated by commas, e.g. 1,10,100")
    if not sizes or sizes[0] < 1:
        parser.error("every size must be at least 1 (the target service)")
    repeats = max(1, args.repeats)

    isolate_env()
    started = time.perf_counter()
    from moto.server import ThreadedMotoServer

    from shine_ops.engine.runner import load_catalogue

    playbook = load_catalogue().load_playbook("snail-trail")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    print(f"moto server {endpoint} (in process); sizes {','.join(map(str, sizes))}; "
          f"{repeats} in-process runs per mode; playbook {playbook.name}; {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.2f} at start")

    # Warm-up, not reported: moto builds its backends and botocore loads its models on first use
    # (~1 s), which would otherwise land on whichever size is seeded and diagnosed first.
    seed_account(endpoint, 1)
    diagnose_in_process(endpoint, "a", playbook, 1)

    seeds: list[tuple[int, float, int, dict[str, int]]] = []
    results: dict[tuple[int, str], dict[str, Any]] = {}
    try:
        for n in sizes:
            secs, calls, counts = seed_account(endpoint, n)
            seeds.append((n, secs, calls, counts))
            for mode in ("a", "b"):
                results[(n, mode)] = diagnose_in_process(endpoint, mode, playbook, repeats)
            if not args.no_cli:
                results[(n, "cli")] = diagnose_cli(endpoint)
    finally:
        server.stop()

    print()
    print("seeding (through the AWS API, after POST /moto-api/reset; one unreported warm-up seed and diagnosis ran first)")
    print(f"{'services':>8} {'TGs':>4} {'ALBs':>4} {'rules':>5} {'records':>7} {'seed calls':>10} {'seed s':>7}")
    for n, secs, calls, c in seeds:
        print(f"{n:>8} {c['target groups']:>4} {c['ALBs']:>4} {c['rules']:>5} {c['records']:>7} {calls:>10} "
              f"{secs:>7.2f}")

    labels = {"a": "a: --cluster/--service", "b": "b: --domain only", "cli": "CLI subprocess (a)"}
    print()
    print("diagnosis (snail-trail). in process: wall = median (min) of the runs incl. client creation, "
          "garbage collector frozen at the seeded state; run = the report's duration_s. CLI: wall = the "
          "whole process (start-up, imports, collection, rendering), run = its duration_s. "
          "checks: P pass F fail W warn S skip E error")
    print(f"{'services':>8}  {'mode':<23} {'calls':>5} {'wall ms':>8} {'min ms':>7} {'run ms':>7}  {'checks':<18} "
          f"calls by operation that grew vs {sizes[0]} service(s)")
    for mode in ("a", "b", "cli"):
        base = results.get((sizes[0], mode))
        for n in sizes:
            r = results.get((n, mode))
            if r is None:
                continue
            if "error" in r:
                print(f"{n:>8}  {labels[mode]:<23} CLI failed: {r['error']}")
                continue
            total = sum(r["by_operation"].values())
            flags = []
            if mode != "cli" and not r["stable"]:
                flags.append("calls differed between repeats")
            if mode == "cli" and r["total"] != total:
                flags.append(f"api_calls.total {r['total']} != sum {total}")
            if mode == "cli" and (n, "a") in results and r["by_operation"] != results[(n, "a")]["by_operation"]:
                flags.append("differs from in-process mode a: " + grown(results[(n, "a")]["by_operation"],
                                                                         r["by_operation"]))
            if mode == "cli" and r["exit"] not in (0, 1):
                flags.append(f"exit {r['exit']}")
            grew = grown(base["by_operation"], r["by_operation"]) if base and "error" not in base else "?"
            wmin = f"{r['wall_min_s'] * 1000:.0f}" if "wall_min_s" in r else "-"
            print(f"{n:>8}  {labels[mode]:<23} {total:>5} {r['wall_s'] * 1000:>8.0f} {wmin:>7} {r['duration_s'] * 1000:>7.0f}  "
                  f"{summary_text(r['summary']):<18} {grew}" + (f"  [{'; '.join(flags)}]" if flags else ""))

    print()
    print("mode b against the design (grows by ceil(services/10) DescribeServices calls; moto returns "
          "ListServices in one page)")
    print(f"{'services':>8} {'calls':>5} {'growth':>6} {'DescribeServices':>16} {'ceil(n/10)':>10} "
          f"{'DescribeTargetGroups':>20} {'ListServices':>12}")
    b0 = sum(results[(sizes[0], "b")]["by_operation"].values())
    for n in sizes:
        ops = results[(n, "b")]["by_operation"]
        total = sum(ops.values())
        print(f"{n:>8} {total:>5} {total - b0:>+6} {ops.get('ecs.DescribeServices', 0):>16} {math.ceil(n / 10):>10} "
              f"{ops.get('elbv2.DescribeTargetGroups', 0):>20} {ops.get('ecs.ListServices', 0):>12}")

    print()
    print("resolved target and failing/erroring checks per mode (the largest size)")
    for mode in ("a", "b"):
        r = results[(sizes[-1], mode)]
        print(f"  {labels[mode]:<23} {r['resolved']}; retries {r['retries']}; "
              f"failing: {', '.join(r['failing']) or 'none'}")
    a_ops = results[(sizes[-1], "a")]["by_operation"]
    print(f"  mode a calls at {sizes[-1]} services: " + ", ".join(f"{k.split('.', 1)[1]} {v}"
                                                               for k, v in sorted(a_ops.items())))
    b_ops = results[(sizes[-1], "b")]["by_operation"]
    print(f"  mode b calls at {sizes[-1]} services: " + ", ".join(f"{k.split('.', 1)[1]} {v}"
                                                               for k, v in sorted(b_ops.items())))
    print(f"\ntotal benchmark time {time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.2f} "
          "at the end (other work on the machine makes the times, never the call counts, noisy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
