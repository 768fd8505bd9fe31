"""Cold start of the reference service: seconds from exec to the first 200 on ``/ready``, median of N runs.

Each run starts a fresh process on a free 127.0.0.1 port and polls ``/ready`` every 20 ms (a new connection
each time, so a listening socket that no worker serves yet counts as not ready). Modes:

- ``process``: ``python -m reference_service``, as the sandbox runs a task in its local-process mode;
- ``gunicorn``: the Dockerfile's CMD, 2 workers (the master imports TensorFlow once before forking:
  ``reference_service/preload.py``);
- ``gunicorn-no-preload``: the same with ``PRELOAD_IMPORTS=0`` (every worker imports TensorFlow itself, as
  before the preload existed), for comparison.

Besides wall time, each run reports the CPU seconds the process tree had used when /ready first said 200.
Wall time depends on what else runs on the machine; CPU seconds hardly do, so on a shared machine they are
the figure to compare (on an idle machine with a core per process, wall time approaches them). The load
average is printed with every run. ``/ready``'s own ``load_seconds`` (the loader's phases) are printed too.

Run: ``python bench/cold_start.py [--runs 5] [--modes process,gunicorn,gunicorn-no-preload] [--root DIR] [--json]``
(``--root``: another checkout's ``reference_service``, e.g. an older commit exported with ``git archive``).
``bench/service_latency.py --cold-runs N`` prints the same figures before its latency run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 5.0
MODES = ("process", "gunicorn", "gunicorn-no-preload")
GUNICORN = ["gunicorn", "-c", "reference_service/gunicorn.conf.py", "reference_service.app:create_app()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(mode: str) -> tuple[list[str], dict]:
    """The command and extra environment of ``mode``."""
    if mode == "process":
        return [sys.executable, "-m", "reference_service"], {}
    if mode == "gunicorn":
        return list(GUNICORN), {"PRELOAD_IMPORTS": "1"}
    if mode == "gunicorn-no-preload":
        return list(GUNICORN), {"PRELOAD_IMPORTS": "0"}
    raise ValueError(f"unknown mode {mode!r} (one of {', '.join(MODES)})")


def tree_cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of ``pid`` and its live children (gunicorn's workers)."""
    pids = [pid] + [int(p) for p in subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True,
                                                   text=True).stdout.split()]
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def ready_once(mode: str, timeout: float = 90.0, root: Path = ROOT) -> dict:
    """One cold start: {"wall_s", "cpu_s", "load_seconds", "load_avg"}; raises RuntimeError if never ready."""
    cmd, extra = command(mode)
    port = free_port()
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="2", LOG_LEVEL="warning", **extra)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")  # this checkout's reference_service
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - t0 < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"{mode}: exited {proc.returncode} before /ready said 200")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/ready")
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                if resp.status == 200:
                    wall = time.perf_counter() - t0
                    return {"wall_s": round(wall, 2), "cpu_s": round(tree_cpu_seconds(proc.pid), 2),
                            "load_seconds": json.loads(body).get("load_seconds", {}), "load_avg": round(load, 2)}
            except (OSError, http.client.HTTPException, ValueError):
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{mode}: not ready in {timeout:g} s")
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def cold_start(modes=MODES, runs: int = 5, root: Path = ROOT) -> dict:
    """{mode: {"runs": [...], "wall_median_s", "cpu_median_s", ...}}; the modes' runs are interleaved so that
    a change in the machine's load hits them alike."""
    out: dict = {m: {"runs": []} for m in modes}
    for _ in range(max(1, runs)):
        for m in modes:
            out[m]["runs"].append(ready_once(m, root=root))
    for m, v in out.items():
        walls, cpus = [r["wall_s"] for r in v["runs"]], [r["cpu_s"] for r in v["runs"]]
        v.update(wall_median_s=round(statistics.median(walls), 2), wall_min_s=min(walls), wall_max_s=max(walls),
                 cpu_median_s=round(statistics.median(cpus), 2),
                 load_avg_median=round(statistics.median(r["load_avg"] for r in v["runs"]), 2))
    return out


def rows(result: dict) -> list[tuple[str, str]]:
    out = []
    for m, v in result.items():
        out.append((f"cold start to /ready 200, {m} ({len(v['runs'])} runs)",
                    f"median {v['wall_median_s']} s (min {v['wall_min_s']}, max {v['wall_max_s']}), "
                    f"CPU {v['cpu_median_s']} s, load avg {v['load_avg_median']}  [target <= {TARGET_S:g} s: "
                    f"{'ok' if v['wall_median_s'] <= TARGET_S else 'MISS'}]"))
        phases = v["runs"][-1]["load_seconds"]
        out.append((f"  loader phases, last run ({m})", ", ".join(f"{k} {x:.2f}" for k, x in phases.items())))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the checkout whose reference_service starts (e.g. an older one, for before/after)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        command(m)  # unknown mode: fail before starting anything
    result = cold_start(modes, args.runs, args.root.resolve())
    print(f"{os.cpu_count()} cpus, python {sys.version.split()[0]}, {args.root.resolve()}")
    r = rows(result)
    width = max(len(k) for k, _ in r)
    for k, v in r:
        print(f"{k:<{width}}  {v}")
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
