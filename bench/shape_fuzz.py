#!/usr/bin/env python3
"""Benchmark: the shape fuzzer of issue 14 item 2 (tests/fuzz/) at any number of examples, with what it covered.

Each example is an account generated from botocore's service models (tests/fuzz/strategies.py), served to the real
Collector, judged by every check of ``snail-trail`` (no probes; declared settings drawn too) and rendered in every
format (tests/fuzz/world.py). Unlike the test, a crash or a broken invariant does not stop the run: each is
counted, and the first example of each distinct one is printed. The figures: examples, clean exits (usage errors or
essential reads that failed), reports, distinct output shapes and operations covered out of those the collectors'
operations reach, verdicts per status, wall time.

Run:  . .venv/bin/activate && python bench/shape_fuzz.py [--examples 500] [--seed N]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: random)")
    parser.add_argument("--show", type=int, default=3, help="Worlds to print per distinct failure (as JSON keys).")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

    from hypothesis import HealthCheck, given, seed, settings

    from tests.fuzz.strategies import OPERATIONS, covered_shapes, declared_settings, reachable_shapes, worlds
    from tests.fuzz.world import diagnose

    counts: collections.Counter = collections.Counter()
    statuses: collections.Counter = collections.Counter()
    failures: dict[str, int] = collections.Counter()
    first: dict[str, str] = {}
    shapes: set = set()
    ops: collections.Counter = collections.Counter()
    started = time.monotonic()

    @settings(max_examples=args.examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(world=worlds(), declared=declared_settings())
    def run(world, declared):
        counts["examples"] += 1
        covered_shapes(world, shapes)
        try:
            out = diagnose(world, declared)
        except Exception as exc:  # noqa: BLE001 - counted and shown, the run goes on
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"crash {type(exc).__name__} at {frame.filename}:{frame.lineno}: {str(exc)[:160]}"
            failures[key] += 1
            first.setdefault(key, f"target {world['target']}")
            return
        ops.update(out.calls)
        if out.error is not None:
            counts["clean exits (ShineOpsError)"] += 1
        else:
            counts["reports"] += 1
            statuses.update(f.status for f in out.report.findings)
            if out.report.request_path and out.report.request_path.service:
                counts["reports that resolved a service"] += 1
        for p in out.problems:
            key = "invariant " + p.split(":", 1)[0] + ": " + p.split(":", 1)[-1][:160]
            failures[key] += 1
            first.setdefault(key, f"target {world['target']}")

    if args.seed is not None:
        run = seed(args.seed)(run)
    run()
    elapsed = time.monotonic() - started

    reachable = reachable_shapes()
    structs = {s for s in reachable if _kind(s) == "structure"}
    print(f"examples: {counts['examples']} in {elapsed:.1f} s ({elapsed / max(1, counts['examples']):.2f} s each)")
    for key in ("reports", "reports that resolved a service", "clean exits (ShineOpsError)"):
        print(f"  {key}: {counts[key]}")
    print(f"verdicts: {dict(sorted(statuses.items()))}")
    n_ops = sum(len(v) for v in OPERATIONS.values())
    print(f"operations generated: {n_ops}; called by the collector in this run: {len(ops)}")
    for op, n in sorted(ops.items()):
        print(f"  {op}: {n}")
    print(f"shapes covered: {len(shapes)} of {len(reachable)} reachable from those operations' outputs "
          f"({len(shapes & structs)} of {len(structs)} structures)")
    if failures:
        print(f"FAILURES: {sum(failures.values())} ({len(failures)} distinct)")
        for key, n in failures.most_common():
            print(f"  {n:5}  {key}\n         first: {first[key]}")
    else:
        print("failures: none")
    return 0


def _kind(pair: tuple[str, str]) -> str:
    from tests.corpus.shapes import service_model

    return service_model(pair[0]).shape_for(pair[1]).type_name


if __name__ == "__main__":
    sys.exit(main())
