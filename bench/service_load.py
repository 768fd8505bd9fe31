#!/usr/bin/env python3
"""Load test of the reference service: loopback only, bounded in time, stops by itself.

Starts gunicorn as the Dockerfile does (2 workers, gthread), then 50 keep-alive client connections (threads)
POST the astronaut photo to /api/v4/face/detect for 60 s (`--seconds`, `--connections`). Prints requests,
errors (non-200 or connection failures), p50/p90/p99 latency, throughput, and worker RSS sampled every 5 s
after a 10 s warm-up with its drift ((max - min) / min; target within 10 %). The client shares the 2 cores
with the server, so throughput is a lower bound.

Run: python bench/service_load.py [--seconds 60] [--connections 50] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from service_latency import free_port, pct, worker_rss_mb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    sample = json.loads((ROOT / "reference_service" / "sample_astronaut.json").read_text())
    body = json.dumps({"image_data": sample["image_data"]}).encode()
    port = free_port()
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="2", LOG_LEVEL="warning")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    proc = subprocess.Popen(["gunicorn", "-c", "reference_service/gunicorn.conf.py", "reference_service.app:create_app()"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    res: dict = {"connections": args.connections, "seconds": args.seconds, "workers": 2}
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/ready")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            print("service did not become ready", file=sys.stderr)
            return 1
        lat: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds

        def client() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine, errs = [], []
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                try:
                    conn.request("POST", "/api/v4/face/detect", body=body, headers={"Content-Type": "application/json"})
                    r = conn.getresponse()
                    r.read()
                    if r.status != 200:
                        errs.append(f"HTTP {r.status}")
                except (OSError, http.client.HTTPException) as exc:
                    errs.append(type(exc).__name__)
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    continue
                mine.append((time.perf_counter() - t0) * 1000)
            with lock:
                lat.extend(mine)
                errors.extend(errs)

        threads = [threading.Thread(target=client, daemon=True) for _ in range(args.connections)]
        t_start = time.monotonic()
        for t in threads:
            t.start()
        rss_samples: list[list[float]] = []
        while time.monotonic() < stop_at:
            time.sleep(5)
            if time.monotonic() - t_start >= args.warmup:
                rss_samples.append(worker_rss_mb(proc.pid))
        for t in threads:
            t.join(timeout=60)
        elapsed = time.monotonic() - t_start
        totals = [sum(s) for s in rss_samples if s]
        res.update({
            "requests": len(lat) + len(errors), "errors": len(errors), "error_kinds": sorted(set(errors))[:5],
            "throughput_rps": round(len(lat) / elapsed, 1),
            "p50_ms": round(pct(lat, 0.5), 1) if lat else None, "p90_ms": round(pct(lat, 0.9), 1) if lat else None,
            "p99_ms": round(pct(lat, 0.99), 1) if lat else None,
            "rss_mb_per_worker_first": rss_samples[0] if rss_samples else None,
            "rss_mb_per_worker_last": rss_samples[-1] if rss_samples else None,
            "rss_drift_pct": round((max(totals) - min(totals)) / min(totals) * 100, 1) if len(totals) > 1 else None,
            "load_avg_1m_at_end": os.getloadavg()[0],
        })
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"load: {res['connections']} connections x {res['seconds']:.0f} s, POST /api/v4/face/detect (astronaut), "
          "2 gunicorn workers (gthread x4), loopback; client on the same 2 cores")
    for k in ("requests", "errors", "error_kinds", "throughput_rps", "p50_ms", "p90_ms", "p99_ms",
              "rss_mb_per_worker_first", "rss_mb_per_worker_last", "rss_drift_pct", "load_avg_1m_at_end"):
        print(f"  {k:26} {res.get(k)}")
    print(f"  RSS stable within 10 %: {'yes' if (res.get('rss_drift_pct') or 0) <= 10 else 'NO'}")
    if args.json:
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
