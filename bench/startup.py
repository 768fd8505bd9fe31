#!/usr/bin/env python3
"""Benchmark: start-up time of ``shine-ops --help`` against a bare ``import typer, rich``.

What is measured
  * Wall time of ``N`` runs (default 10) of ``shine-ops --help`` (the console script next to
    ``sys.executable``, else ``python -m shine_ops --help``) and of the baseline
    ``python -c "import typer, rich"``; each command runs once unmeasured first (to warm the page and
    bytecode caches) and the measured runs are interleaved so that machine noise hits both alike.
    The median and the minimum of each, and the ratio of the medians (the target is 1.6x or less).
  * Which heavy modules get imported: ``python -X importtime -c "import shine_ops.cli"`` (the brief's
    check) and ``python -X importtime -m shine_ops --help`` (also catches anything imported while the
    help text is built), once each. boto3, botocore, moto, requests, tensorflow and numpy must not
    appear.

This is a benchmark, not a test: it prints figures and always exits 0.

Run:  . .venv/bin/activate && python bench/startup.py [--runs 10] [--module]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("boto3", "botocore", "moto", "requests", "tensorflow", "numpy")
TARGET_RATIO = 1.6


def cli_command(force_module: bool) -> list[str]:
    script = Path(sys.executable).parent / "shine-ops"
    if not force_module and script.exists():
        return [str(script), "--help"]
    return [sys.executable, "-m", "shine_ops", "--help"]


def clean_env(pycache_prefix: str | None) -> dict[str, str]:
    """The environment of the timed commands; with ``pycache_prefix``, bytecode is cached there.

    A private prefix (PYTHONPYCACHEPREFIX) lets the warm-up run write .pyc files for every module without
    touching the source tree or site-packages; without it the environment is used as it is (with
    PYTHONDONTWRITEBYTECODE=1 and an editable install, shine_ops is then compiled from source each run).
    """
    env = dict(os.environ)
    for var in ("PYTHONPROFILEIMPORTTIME", "PYTHONVERBOSE", "PYTHONTRACEMALLOC", "SHINE_OPS_DEBUG"):
        env.pop(var, None)
    env["COLUMNS"] = "100"  # the same help layout whatever terminal runs the benchmark
    if pycache_prefix:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache_prefix
    return env


def time_once(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(f"warning: {' '.join(cmd)} exited {proc.returncode}: "
                         f"{proc.stderr.decode(errors='replace').strip()[-300:]}\n")
    return elapsed


def import_times(args: list[str], env: dict[str, str]) -> dict[str, tuple[int, int, int]]:
    """{module: (self_us, cumulative_us, depth)} from ``python -X importtime <args>``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env=env, text=True)
    out: dict[str, tuple[int, int, int]] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line.split(":", 1)[1].split("|")
        if len(parts) != 3:
            continue
        try:
            self_us, cum_us, name = int(parts[0]), int(parts[1]), parts[2].strip()
        except ValueError:
            continue
        depth = (len(parts[2]) - len(parts[2].lstrip(" ")) - 1) // 2  # importtime indents 2 spaces a level
        out[name] = (self_us, cum_us, depth)
    return out


def heavy_report(mods: dict[str, tuple[int, int, int]]) -> list[tuple[str, str]]:
    rows = []
    for heavy in HEAVY:
        hits = [m for m in mods if m == heavy or m.startswith(heavy + ".")]
        if hits:
            own = sum(mods[m][0] for m in hits)
            rows.append((heavy, f"IMPORTED ({len(hits)} modules, {own / 1000:.0f} ms own time)"))
        else:
            rows.append((heavy, "not imported"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="measured runs of each command (default 10)")
    parser.add_argument("--module", action="store_true",
                        help="time `python -m shine_ops --help` even when the console script exists")
    parser.add_argument("--env-as-is", action="store_true",
                        help="no private bytecode cache: time the commands in this environment exactly")
    args = parser.parse_args(argv)
    runs = max(1, args.runs)
    prefix = None if args.env_as_is else tempfile.mkdtemp(prefix="shine-ops-bench-pycache-")
    try:
        return measure(runs, args.module, prefix)
    finally:
        if prefix:
            shutil.rmtree(prefix, ignore_errors=True)


def measure(runs: int, force_module: bool, prefix: str | None) -> int:
    env = clean_env(prefix)
    as_is = clean_env(None)
    cli = cli_command(force_module)
    base = [sys.executable, "-c", "import typer, rich"]
    timed = [("cli", cli, env), ("base", base, env)]
    if prefix and os.environ.get("PYTHONDONTWRITEBYTECODE"):
        timed.append(("cli-as-is", cli, as_is))  # what a user of this very environment waits
    for _, cmd, e in timed:  # warm-up (fills the bytecode cache), not measured
        time_once(cmd, e)
    times: dict[str, list[float]] = {key: [] for key, _, _ in timed}
    for _ in range(runs):  # interleaved
        for key, cmd, e in timed:
            times[key].append(time_once(cmd, e))

    def fmt_ms(x: float) -> str:
        return f"{x * 1000:7.1f}"

    shown_cli = " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cli))
    labels = {"cli": shown_cli, "base": 'python -c "import typer, rich"',
              "cli-as-is": f"{shown_cli} (PYTHONDONTWRITEBYTECODE=1)"}
    cache = ("bytecode cached in a private PYTHONPYCACHEPREFIX" if prefix
             else "environment as is (" + ("PYTHONDONTWRITEBYTECODE=1" if os.environ.get("PYTHONDONTWRITEBYTECODE")
                                           else "default bytecode caching") + ")")
    print(f"start-up, {runs} runs each after 1 warm-up, interleaved; python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f}; {cache}")
    print(f"{'command':<52} {'median ms':>9} {'min ms':>8} {'max ms':>8}")
    for key, _, _ in timed:
        t = times[key]
        print(f"{labels[key]:<52} {fmt_ms(statistics.median(t)):>9} {fmt_ms(min(t)):>8} {fmt_ms(max(t)):>8}")
    cli_t, base_t = times["cli"], times["base"]
    ratio = statistics.median(cli_t) / statistics.median(base_t)
    print(f"ratio of medians: {ratio:.2f}x (target <= {TARGET_RATIO}x: {'met' if ratio <= TARGET_RATIO else 'MISSED'}); "
          f"ratio of minima {min(cli_t) / min(base_t):.2f}x")
    if "cli-as-is" in times:
        print(f"ratio of medians without a bytecode cache for shine_ops: "
              f"{statistics.median(times['cli-as-is']) / statistics.median(base_t):.2f}x")
    print()

    checks = [("import shine_ops.cli", ["-c", "import shine_ops.cli"]),
              ("python -m shine_ops --help", ["-m", "shine_ops", "--help"])]
    results = [(label, import_times(a, env)) for label, a in checks]  # env: bytecode warm, as timed
    print("heavy modules (python -X importtime, once each; they must not appear)")
    print((f"{'module':<12} " + " ".join(f"{label:<44}" for label, _ in results)).rstrip())
    per = [dict(heavy_report(mods)) for _, mods in results]
    for heavy in HEAVY:
        print(f"{heavy:<12} " + " ".join(f"{p[heavy]:<44}" for p in per).rstrip())
    leaked = sorted({h for p in per for h, v in p.items() if v.startswith("IMPORTED")})
    print("heavy modules imported: " + (", ".join(leaked) if leaked else "none"))
    for label, mods in results:
        if not mods:
            print(f"note: no -X importtime output for {label}")
            continue
        total = sum(s for s, _, _ in mods.values())
        top = sorted(((c, m) for m, (_, c, d) in mods.items() if d == 0), reverse=True)[:5]
        print(f"{label}: {len(mods)} modules, {total / 1000:.0f} ms of imports; largest outermost imports: "
              + ", ".join(f"{m} {c / 1000:.0f} ms" for c, m in top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
