"""``shine-ops smoke URL``: smoke tests of a deployed reference service (health, detection, analysis, CORS).

Exit codes as ``diagnose``: 0 no failing finding at or above ``--fail-on``, 1 at least one, 2 usage error.
An unreachable URL is a failing ``smoke.health`` finding (exit 1) within ``--probe-timeout``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Optional

import typer

from shine_ops.cli import app

FORMATS = ("table", "json")


@app.command("smoke")
def smoke(
    url: Optional[str] = typer.Argument(None, help="Base URL of the service, e.g. https://api.example.com"),
    host: Optional[str] = typer.Option(None, "--host", help="Send this Host header (a load balancer in front)."),
    sandbox: bool = typer.Option(False, "--sandbox", help="Smoke-test the sandbox's domain through its "
                                                        "load-balancer emulator (simulated route)."),
    origin: Optional[str] = typer.Option(None, "--origin", help="Frontend origin whose CORS preflight must pass."),
    probe_timeout: float = typer.Option(10.0, "--probe-timeout", help="Total time budget for all probes, seconds."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
    fail_on: str = typer.Option("high", "--fail-on", help="Lowest severity of a failing finding that exits 1."),
) -> None:
    """Smoke-test a deployed reference service: /health, /ready, face detection, analysis, CORS."""
    from urllib.parse import urlparse

    from shine_ops import __version__
    from shine_ops.engine.finding import SEVERITIES, Finding, severity_at_least
    from shine_ops.errors import UsageError
    from shine_ops.probes.smoke import CHECKS, run_smoke

    if sandbox:
        from shine_ops.cli.common import say
        from shine_ops.sandbox import control

        st = control.ensure_running(say)
        if not st.get("alb_endpoint"):
            raise UsageError("the running sandbox has no load-balancer emulator; restart it")
        url = url or st["alb_endpoint"]
        host = host or (st.get("target") or {}).get("domain")
    if not url:
        raise UsageError("give the service's URL, or --sandbox")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageError(f"URL must be http(s)://host[:port], got {url!r}")
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fail_on not in SEVERITIES:
        raise UsageError(f"--fail-on must be one of {', '.join(SEVERITIES)}, got {fail_on!r}")
    if not probe_timeout > 0 or probe_timeout > 600:
        raise UsageError(f"--probe-timeout must be between 0 and 600 seconds, got {probe_timeout}")
    if origin is not None:
        o = urlparse(origin)
        if o.scheme not in ("http", "https") or not o.netloc or o.path not in ("", "/"):
            raise UsageError(f"--origin must be scheme://host[:port] as a browser sends it, got {origin!r}")
        origin = origin.rstrip("/")

    started = time.perf_counter()
    findings = []
    import requests

    session = requests.Session()
    if host:
        session.headers["Host"] = host
    for check_id, outcome in run_smoke(url, origin=origin, timeout_s=probe_timeout, session=session):
        title, severity = CHECKS[check_id]
        findings.append(Finding.from_outcome(check_id, title, severity, outcome, hop="service"))
    duration = time.perf_counter() - started
    failing = [f for f in findings if f.status == "fail" and severity_at_least(f.severity, fail_on)]
    summary = {s: sum(1 for f in findings if f.status == s) for s in ("pass", "fail", "warn", "skip", "error")}

    if fmt == "json":
        report = {"schema": "shine-ops.report/v1", "tool_version": __version__, "playbook": "smoke",
                  "target": {"url": url.rstrip("/"), "host": host, "origin": origin},
                  "path": [{"hop": "service", "resource": url.rstrip("/"),
                            "status": findings[0].status if findings else "skip"}],
                  "findings": [f.to_json() for f in findings],
                  "root_causes": [f.check for f in findings if f.status == "fail"],
                  "summary": summary, "api_calls": {"total": 0, "by_operation": {}},
                  "duration_s": round(duration, 3)}
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        _print_table(url, findings, summary, duration)
    raise typer.Exit(1 if failing else 0)


def _print_table(url, findings, summary, duration) -> None:
    from rich.console import Console
    from rich.table import Table

    colours = {"pass": "green", "fail": "red", "warn": "yellow", "skip": "dim", "error": "magenta"}
    table = Table(title=f"smoke {url}", show_lines=False)
    for col in ("check", "status", "severity", "latency", "summary"):
        table.add_column(col, overflow="fold")
    for f in findings:
        ms = f.evidence.get("latency_ms")
        table.add_row(f.check, f"[{colours[f.status]}]{f.status}[/]", f.severity,
                      f"{ms:.0f} ms" if isinstance(ms, (int, float)) else "-", f.summary)
    console = Console()
    console.print(table)
    console.print(", ".join(f"{n} {s}" for s, n in summary.items() if n) + f" in {duration:.2f} s")
