"""The sandbox daemon: one background process owning a moto server on a free loopback port.

Started by ``shine-ops sandbox up`` (never by hand). It seeds the scenario through the AWS API, writes
the state file, and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import os
import signal
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
        from shine_ops.sandbox.seed import seed

        scenario = load_scenario(args.scenario)
        health.install()
        state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10 ** 6})
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        aws = Aws(ConnectionOptions(sandbox=True, endpoint_url=endpoint, region=scenario["region"]))

        def before_service(spec: dict) -> None:
            # moto reads this when the service is created (platform-notes: ECS services never start tasks).
            os.environ["MOTO_ECS_SERVICE_RUNNING"] = str(int(spec.get("running", spec.get("desired", 1))))

        seed(aws, scenario, before_service=before_service)
        write_state({"pid": pid, "status": "ready", "scenario": scenario["name"], "endpoint": endpoint,
                     "port": port, "region": scenario["region"], "target": scenario.get("target", {}),
                     "started_at": started, "seeded_in_s": round(time.time() - started, 2),
                     "seed_calls": aws.calls.total})
        print(f"sandbox ready at {endpoint} (scenario {scenario['name']})", flush=True)
    except Exception as exc:  # noqa: BLE001 - reported through the state file to `sandbox up`
        traceback.print_exc()
        write_state({"pid": pid, "status": "failed", "scenario": args.scenario,
                     "error": f"{type(exc).__name__}: {exc}"})
        return 1
    try:
        while not stop.wait(0.5):
            pass
    finally:
        if server is not None:
            try:
                server.stop()
            except Exception:  # noqa: BLE001
                pass
        clear_state(pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
