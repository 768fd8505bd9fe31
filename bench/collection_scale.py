#!/usr/bin/env python3
"""Benchmark: collection at real latency and at account scale (issue 15), figures side by side in one run.

What is measured
  A moto server (``ThreadedMotoServer`` on 127.0.0.1, in this process) sits behind one wire proxy
  (``shine_ops.testing.wire_proxy.WireProxy``): every AWS call of the measured run goes through it, so the proxy
  counts the calls on the wire (each page, each retry) whatever the run reports about itself.

  1. One diagnosis (``snail-trail``, ``--domain`` only, no live probes, in process as the CLI runs it:
     ``engine.runner.run`` on a fresh ``Aws``) of the sandbox scenarios ``healthy`` and ``shine-incident``
     (seeded like ``tests/e2e/conftest.py``'s ``scenario_server``, with their declarations), with the proxy adding
     0 ms and then ``--latency-ms`` (default 100) to every exchange: calls, wall time (median of ``--repeats``)
     and the time the latency added. Target: at most +0.8 s at +100 ms/exchange, the same number of calls.
  2. The accounts of ``bench/diagnose_scale.py`` (one target service with its full path plus ``services - 1``
     services behind ``ceil((services - 1) / 10)`` more ALBs), at each of ``--sizes``: the real CLI as a
     subprocess through the proxy at 0 ms, for the account-wide ``tortoise`` collection
     (``diagnose --playbook tortoise``), ``diagnose --all`` and ``audit`` over every service (one target per
     service, all in one account and region): calls on the wire and wall time of the whole process. Targets:
     ``--all`` at most the tortoise's calls + 3 per service + 2 per load balancer, and at most 3x its wall time.

  ``--save FILE`` keeps the figures as JSON; ``--baseline FILE`` prints a saved run's figures beside this run's
  (before/after a change). This is a benchmark, not a test: it prints figures and exits 0 unless it could not run.

Run:  . .venv/bin/activate && python bench/collection_scale.py [--sizes 10,100,300] [--latency-ms 100]
          [--repeats 3] [--only single|scale] [--save after.json] [--baseline before.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import diagnose_scale as D  # noqa: E402  (same folder: the scale accounts and their seeding)

SCENARIOS = ("healthy", "shine-incident")
DECLARATIONS = ("health_path", "service_paths", "startup_budget_s", "latency_budget_s", "frontend_origins",
                "serves_reference_api")


# -- one diagnosis at latency ----------------------------------------------------------------------------------
def seed_scenario(endpoint: str, name: str) -> dict[str, Any]:
    """Reset moto and seed a sandbox scenario as the e2e fixture does; returns the scenario."""
    from shine_ops.aws import Aws, ConnectionOptions
    from shine_ops.sandbox.daemon import after_seed
    from shine_ops.sandbox.scenario import load_scenario
    from shine_ops.sandbox.seed import seed

    D.reset(endpoint)
    sc = load_scenario(name)
    aws = Aws(ConnectionOptions(endpoint_url=endpoint, region=sc["region"]))

    def before_service(spec: dict) -> None:
        os.environ["MOTO_ECS_SERVICE_RUNNING"] = str(int(spec.get("running", spec.get("desired", 1))))

    seeded = seed(aws, sc, before_service=before_service)
    after_seed(sc, seeded)
    os.environ["MOTO_ECS_SERVICE_RUNNING"] = "1"
    return sc


def scenario_settings(sc: dict[str, Any]) -> Any:
    from shine_ops.cli.common import settings_from
    from shine_ops.config import ProjectConfig

    declared = {k: v for k, v in (sc.get("target") or {}).items() if k in DECLARATIONS and v is not None}
    return settings_from(ProjectConfig(declared, None))


def one_diagnosis(url: str, domain: str, playbook: Any, settings: Any, repeats: int) -> dict[str, Any]:
    from shine_ops.aws import Aws, ConnectionOptions
    from shine_ops.engine.runner import run
    from shine_ops.topology.collect import Target

    walls, totals, report = [], [], None
    for _ in range(repeats):
        gc.collect()
        gc.freeze()  # moto's state lives in this process: do not bill the diagnosis for scanning it
        try:
            t0 = time.perf_counter()
            aws = Aws(ConnectionOptions(endpoint_url=url, region=D.REGION))
            report = run(aws, Target(domain=domain), playbook, settings)
            walls.append(time.perf_counter() - t0)
        finally:
            gc.unfreeze()
        totals.append(report.api_calls["total"])
    assert report is not None
    return {"wall_s": statistics.median(walls), "calls": totals[0], "stable": len(set(totals)) == 1,
            "summary": report.summary, "root_causes": report.root_causes}


def bench_single(endpoint: str, latency_s: float, repeats: int) -> dict[str, Any]:
    from shine_ops.engine.runner import load_catalogue
    from shine_ops.sandbox import health
    from shine_ops.testing.wire_proxy import WireProxy

    health.install()  # the sandbox's simulated target health, in this (moto's) process
    playbook = load_catalogue().load_playbook("snail-trail")
    out: dict[str, Any] = {}
    for name in SCENARIOS:
        sc = seed_scenario(endpoint, name)
        settings = scenario_settings(sc)
        domain = sc["target"]["domain"]
        for lat in (0.0, latency_s):
            with WireProxy(endpoint, latency_s=lat) as proxy:
                one_diagnosis(proxy.url, domain, playbook, settings, 1)  # warm-up (imports, models, moto)
                proxy.reset_counts()
                r = one_diagnosis(proxy.url, domain, playbook, settings, repeats)
                r["wire_calls"] = proxy.stats()["forwarded"] // repeats
            out[f"{name}@{int(lat * 1000)}"] = r
    return out


# -- --all and audit against the tortoise collection ----------------------------------------------------------
def cli_env(state_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"SHINE_OPS_STATE_DIR": state_dir, "NO_COLOR": "1", "COLUMNS": "200"})
    return env


def run_cli(args: list[str], env: dict[str, str], timeout: float = 3600) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run([*D.cli_command(), *args], capture_output=True, text=True, env=env, timeout=timeout)
    return time.perf_counter() - t0, proc


def audit_config(path: Path, services: int) -> None:
    names = [D.SERVICE] + [D.extra_name(i) for i in range(1, services)]
    lines = ["targets:"]
    for n in names:
        lines += [f"  - name: {n}", f"    cluster: {D.CLUSTER}", f"    service: {n}", f"    region: {D.REGION}"]
    lines += ["playbooks: [snail-trail]", "fail_on: high", ""]
    path.write_text("\n".join(lines))


def bench_scale(endpoint: str, sizes: list[int]) -> dict[str, Any]:
    from shine_ops.testing.wire_proxy import WireProxy

    out: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="shine-ops-bench-"))
    env = cli_env(str(work / "state"))
    D.seed_account(endpoint, 1)  # warm-up seed, not reported
    for n in sizes:
        _secs, _calls, counts = D.seed_account(endpoint, n)
        row: dict[str, Any] = {"load_balancers": counts["ALBs"], "services": counts["services"]}
        with WireProxy(endpoint, max_connections=128) as proxy:
            where = ["--endpoint-url", proxy.url, "--region", D.REGION]
            cfg = work / f"audit-{n}.yaml"
            audit_config(cfg, n)
            runs = {
                "tortoise": ["diagnose", "--playbook", "tortoise", *where, "--format", "json", "--no-probe"],
                "all": ["diagnose", "--all", *where, "--format", "json", "--no-probe"],
                "audit": ["audit", "--config", str(cfg), "--out-dir", str(work / f"audit-out-{n}"), "--no-probe",
                          "--no-cloudwatch", "--endpoint-url", proxy.url, "--region", D.REGION],
            }
            for kind, args in runs.items():
                proxy.reset_counts()
                wall, proc = run_cli(args, env)
                stats = proxy.stats()
                entry = {"wall_s": wall, "wire_calls": stats["forwarded"], "exit": proc.returncode}
                if proc.returncode not in (0, 1):
                    entry["error"] = proc.stderr.strip()[-300:]
                if kind == "all" and proc.returncode in (0, 1):
                    doc = json.loads(proc.stdout)
                    reports = doc.get("reports", doc) if isinstance(doc, dict) else doc
                    entry["reports"] = len(reports)
                    entry["api_calls_field"] = reports[0].get("api_calls") if reports else None
                row[kind] = entry
        out[str(n)] = row
        print(f"  measured {n} services: " + ", ".join(
            f"{k} {row[k]['wire_calls']} calls {row[k]['wall_s']:.1f} s" for k in ("tortoise", "all", "audit")),
            flush=True)
    return out


# -- output ---------------------------------------------------------------------------------------------------
def fmt_s(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def print_single(now: dict[str, Any], base: dict[str, Any] | None, latency_ms: int) -> None:
    print(f"\n1. one diagnosis (snail-trail, --domain, no probes; wall = median; +{latency_ms} ms per exchange "
          "through the wire proxy)")
    hdr = f"{'scenario':<15} {'calls':>5} {'0 ms s':>7} {f'{latency_ms} ms s':>8} {'added s':>8}"
    if base:
        hdr += f"   | before: {'calls':>5} {'0 ms s':>7} {f'{latency_ms} ms s':>8} {'added s':>8}"
    print(hdr)
    for name in SCENARIOS:
        def cols(d: dict[str, Any]) -> str:
            a, b = d.get(f"{name}@0"), d.get(f"{name}@{latency_ms}")
            if not a or not b:
                return f"{'-':>5} {'-':>7} {'-':>8} {'-':>8}"
            calls = str(a["calls"]) + ("" if a["calls"] == b["calls"] else f"/{b['calls']}")
            return f"{calls:>5} {a['wall_s']:>7.2f} {b['wall_s']:>8.2f} {b['wall_s'] - a['wall_s']:>+8.2f}"
        line = f"{name:<15} {cols(now)}"
        if base:
            line += f"   |         {cols(base)}"
        print(line)
    for name in SCENARIOS:
        r = now.get(f"{name}@0")
        if r:
            print(f"  {name}: root causes {', '.join(r['root_causes']) or 'none'}; checks {D.summary_text(r['summary'])}")


def print_scale(now: dict[str, Any], base: dict[str, Any] | None) -> None:
    print("\n2. account scale (CLI subprocess through the proxy at 0 ms; calls = requests on the wire; "
          "wall = whole process)")
    hdr = (f"{'services':>8} {'LBs':>4}  {'tortoise':>15}  {'diagnose --all':>16}  {'audit':>16}  "
           f"{'--all budget':>12} {'3x tortoise s':>13}")
    if base:
        hdr += f"   | before: {'--all':>16}  {'audit':>16}"
    print(hdr)
    for n, row in now.items():
        lbs = row["load_balancers"]

        def cell(e: dict[str, Any] | None) -> str:
            if not e:
                return f"{'-':>16}"
            txt = f"{e['wire_calls']} / {e['wall_s']:.1f}s"
            return f"{txt + (' !' + str(e['exit']) if e.get('error') else ''):>16}"
        budget = row["tortoise"]["wire_calls"] + 3 * row["services"] + 2 * lbs
        line = (f"{n:>8} {lbs:>4}  {cell(row['tortoise']):>15}  {cell(row['all'])}  {cell(row['audit'])}  "
                f"{budget:>12} {3 * row['tortoise']['wall_s']:>13.1f}")
        if base and n in base:
            line += f"   |         {cell(base[n].get('all'))}  {cell(base[n].get('audit'))}"
        print(line)
    for n, row in now.items():
        for kind in ("tortoise", "all", "audit"):
            if row[kind].get("error"):
                print(f"  {n} {kind}: exit {row[kind]['exit']}: {row[kind]['error']}")
        if row["all"].get("api_calls_field") is not None:
            f = row["all"]["api_calls_field"]
            print(f"  {n}: first --all report's api_calls: total {f.get('total')}, shared {f.get('shared')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,300")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=("single", "scale"))
    parser.add_argument("--save", help="write this run's figures to this JSON file")
    parser.add_argument("--baseline", help="a JSON file saved by --save: printed beside this run")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    D.isolate_env()
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    started = time.perf_counter()
    print(f"moto server {endpoint} (in process); {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f}; "
          f"workers {os.environ.get('SHINE_OPS_WORKERS', 'default')}", flush=True)
    results: dict[str, Any] = {}
    try:
        if args.only != "scale":
            results["single"] = bench_single(endpoint, args.latency_ms / 1000, max(1, args.repeats))
        if args.only != "single":
            results["scale"] = bench_scale(endpoint, sizes)
    finally:
        server.stop()
    base = json.loads(Path(args.baseline).read_text()) if args.baseline else {}
    if "single" in results:
        print_single(results["single"], base.get("single"), args.latency_ms)
    if "scale" in results:
        print_scale(results["scale"], base.get("scale"))
    if args.save:
        Path(args.save).write_text(json.dumps(results, indent=2, default=str))
    print(f"\ntotal {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.2f} at the end "
          "(other work on the machine makes the times, never the call counts, noisy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
