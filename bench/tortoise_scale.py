#!/usr/bin/env python3
"""Benchmark: the API calls of the account-wide ``tortoise`` hygiene audit as the account grows.

The accounts are diagnose_scale.py's (same seeding: one target service with its full path, plus ``services - 1``
extra services behind ``ceil((services - 1) / 10)`` extra ALBs, each with its own task definition, target group
and alias record). Per size, one in-process audit (``shine_ops.engine.runner.run_account`` on a fresh ``Aws``,
as ``shine-ops diagnose --playbook tortoise`` runs it) prints the API calls (total and per operation), the wall
time and the check statuses. The design target: calls grow linearly with the resources divided by the page
sizes, plus one DescribeListeners per load balancer, one DescribeRules per listener and one DescribeTargetHealth
per target group (AWS has no bulk form of these); see shine_ops/topology/account.py.

Run:  . .venv/bin/activate && python bench/tortoise_scale.py [--sizes 10,100,300]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import diagnose_scale as D  # noqa: E402  (same folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,300")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    D.isolate_env()
    from moto.server import ThreadedMotoServer

    from shine_ops.aws import Aws, ConnectionOptions
    from shine_ops.engine.runner import load_catalogue, run_account

    playbook = load_catalogue().load_playbook("tortoise")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    print(f"moto server {endpoint}; sizes {sizes}; playbook {playbook.name}")
    try:
        D.seed_account(endpoint, 1)  # warm-up, not reported
        run_account(Aws(ConnectionOptions(sandbox=True, endpoint_url=endpoint, region=D.REGION)), playbook)
        for n in sizes:
            secs, _calls, counts = D.seed_account(endpoint, n)
            aws = Aws(ConnectionOptions(sandbox=True, endpoint_url=endpoint, region=D.REGION))
            t0 = time.perf_counter()
            report = run_account(aws, playbook)
            wall = time.perf_counter() - t0
            calls = report.api_calls
            print(f"\n{n} services ({', '.join(f'{v} {k}' for k, v in counts.items())}; seeded in {secs:.1f} s)")
            print(f"  tortoise audit: {calls['total']} API calls, {wall:.2f} s")
            for op, c in sorted(calls["by_operation"].items()):
                print(f"    {op:40s} {c}")
            print("  checks: " + ", ".join(f"{f.check} {f.status}" for f in report.findings))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
