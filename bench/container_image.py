#!/usr/bin/env python3
"""Benchmark: the reference service's container image next to the local process.

What is measured
  * Image: its size, and its build time from the project's Dockerfile with ``--cold`` (no layer cache; the
    Debian base and the host-downloaded wheels are reused when present, and their own times are printed
    when this run had to make them) and cached (a second build straight after: nothing changed).
  * Cold start to ``/ready``: from the exec of ``podman run`` (the image's CMD: gunicorn, the task
    definition's environment and memory hard limit, the port published on loopback) to the first 200 from
    the host; beside it the same gunicorn command as a local process, and the sandbox's process-mode
    command (``python -m reference_service``).
  * Memory: the container's usage as its cgroup counts it (what the hard limit applies to) once ready and
    after one face detection; the local process tree's RSS at the same points.

This is a benchmark, not a test: it prints figures and exits 0 (1 when podman or the image is missing).

Run:  .venv/bin/python bench/container_image.py [--cold] [--build] [--memory 3072]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shine_ops.sandbox import container, image  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def task_environment() -> dict[str, str]:
    td = json.loads((ROOT / "reference_service" / "task-definition.json").read_text())
    return {e["name"]: e["value"] for e in td["containerDefinitions"][0]["environment"]}


def wait_ready(url: str, started: float, alive, timeout_s: float = 180.0) -> float | None:
    while time.monotonic() - started < timeout_s:
        if not alive():
            return None
        try:
            if requests.get(url + "/ready", timeout=2).status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.05)
    return None


def detect_once(url: str) -> int:
    sample = json.loads((ROOT / "reference_service" / "sample_astronaut.json").read_text())
    try:
        return requests.post(url + "/api/v4/face/detect", json=sample, timeout=60).status_code
    except requests.RequestException:
        return 0


def tree_rss(pid: int) -> int:
    """RSS of a process and its descendants (gunicorn: the arbiter and its workers)."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,rss="], capture_output=True, text=True).stdout
    rows = [tuple(int(x) for x in line.split()) for line in out.splitlines() if line.strip()]
    keep, total, grew = {pid}, 0, True
    while grew:
        grew = False
        for p, pp, _ in rows:
            if pp in keep and p not in keep:
                keep.add(p)
                grew = True
    for p, _, rss in rows:
        if p in keep:
            total += rss * 1024
    return total


def mb(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e6:.0f} MB"


def bench_container(memory: int) -> dict:
    port = free_port()
    name = f"shine-bench-{os.getpid()}"
    env = task_environment() | {"PORT": str(port)}
    args = ["run", "--detach", "--rm", "--name", name, *image.RUN_LIMITS, "--memory", f"{memory}m",
            "--memory-swap", f"{memory}m", "--publish", f"127.0.0.1:{port}:{port}", "--pull", "never",
            "--no-healthcheck"]
    for k, v in env.items():
        args += ["--env", f"{k}={v}"]
    started = time.monotonic()
    image.podman(*args, image.IMAGE, timeout=120, check=True)
    handle = container.ContainerProc(name=name, memory_mib=memory)
    try:
        ready = wait_ready(f"http://127.0.0.1:{port}", started, lambda: handle.poll() is None)
        idle = handle.rss_bytes()
        code = detect_once(f"http://127.0.0.1:{port}")
        after = handle.rss_bytes()
        return {"ready_s": ready, "rss_ready": idle, "rss_after_detect": after, "detect_status": code}
    finally:
        image.podman("rm", "--force", "--time", "0", name, timeout=60)


def bench_process(cmd: list[str]) -> dict:
    port = free_port()
    env = dict(os.environ) | task_environment() | {"PORT": str(port), "HOST": "127.0.0.1",
                                                   "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = wait_ready(f"http://127.0.0.1:{port}", started, lambda: proc.poll() is None)
        idle = tree_rss(proc.pid)
        code = detect_once(f"http://127.0.0.1:{port}")
        return {"ready_s": ready, "rss_ready": idle, "rss_after_detect": tree_rss(proc.pid), "detect_status": code}
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold", action="store_true", help="time a build without the layer cache (minutes)")
    parser.add_argument("--build", action="store_true", help="time a cached build (the image is built already)")
    parser.add_argument("--memory", type=int, default=3072, help="the container's hard limit, MiB (task def: 3072)")
    args = parser.parse_args()

    reason = image.engine_unavailable_reason()
    if reason:
        print(f"no figures: {reason}")
        return 1
    if args.cold:
        r = image.build(no_cache=True, say=lambda m: print("  " + m))
        print(f"build, cold (no layer cache): {r.seconds:.0f} s ({'; '.join(r.steps)})")
    if args.cold or args.build:
        r = image.build(say=lambda m: print("  " + m))
        print(f"build, cached (nothing changed): {r.seconds:.1f} s")
    reason = image.unavailable_reason()
    if reason:
        print(f"no figures: {reason}")
        return 1
    print(f"image {image.IMAGE}: {mb(image.image_size())}")

    rows = [("container (gunicorn, podman + runc)", bench_container(args.memory)),
            ("local process (gunicorn)", bench_process([str(Path(sys.executable).parent / "gunicorn"), "-c",
                                                         "reference_service/gunicorn.conf.py",
                                                         "reference_service.app:create_app()"])),
            ("local process (sandbox's: python -m reference_service)",
             bench_process([sys.executable, "-m", "reference_service"]))]
    print(f"\n{'what':<56} {'cold start to /ready':>21} {'memory ready':>13} {'after a detect':>15}")
    for what, r in rows:
        ready = "never" if r["ready_s"] is None else f"{r['ready_s']:.1f} s"
        print(f"{what:<56} {ready:>21} {mb(r['rss_ready']):>13} {mb(r['rss_after_detect']):>15}"
              + ("" if r["detect_status"] == 200 else f"  (detect answered {r['detect_status']})"))
    print(f"\nthe container's memory is its cgroup's usage under a {args.memory} MiB hard limit; a local "
          "process's is the RSS of its process tree (gunicorn: arbiter + WEB_CONCURRENCY workers)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
