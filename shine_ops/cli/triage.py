"""``shine-ops triage --symptom 502|503|504|unhealthy-targets|restarting|dns|cors``."""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from shine_ops.cli import app
from shine_ops.cli.common import (ClusterOpt, ConfigOpt, DomainOpt, EndpointOpt, ProfileOpt, RegionOpt, SandboxOpt,
                                  ServiceOpt, choice, connect, guarded, settings_from, target_from, write_output)


@app.command()
@guarded
def triage(
    symptom: str = typer.Option(..., "--symptom", help="502, 503, 504, unhealthy-targets, restarting, dns or cors."),
    domain: Optional[str] = DomainOpt,
    cluster: Optional[str] = ClusterOpt,
    service: Optional[str] = ServiceOpt,
    fmt: str = typer.Option("table", "--format", help="table or json."),
    output: Optional[str] = typer.Option(None, "--output", help="Write to this file."),
    fail_on: str = typer.Option("high", "--fail-on", help="Exit 1 when a check fails at or above this severity."),
    no_probe: bool = typer.Option(False, "--no-probe", help="Skip live DNS/HTTP probes."),
    probe_timeout: float = typer.Option(10.0, "--probe-timeout", help="Time budget of all probes, seconds."),
    config: Optional[str] = ConfigOpt,
    profile: Optional[str] = ProfileOpt,
    region: Optional[str] = RegionOpt,
    endpoint_url: Optional[str] = EndpointOpt,
    sandbox: bool = SandboxOpt,
) -> None:
    """From a symptom to the first broken link and the exact fix command, with the context around it."""
    from rich.console import Console

    from shine_ops.config import load_config
    from shine_ops.engine.finding import SEVERITIES
    from shine_ops.engine.runner import load_catalogue, run
    from shine_ops.errors import EXIT_FINDINGS, EXIT_OK
    from shine_ops.probes.service import probe_service
    from shine_ops.topology.collect import AREAS
    from shine_ops.triage import SYMPTOMS, Triage, first_broken, gather_context

    choice(symptom, tuple(SYMPTOMS), "--symptom")
    choice(fmt, ("table", "json"), "--format")
    choice(fail_on, SEVERITIES, "--fail-on")
    cfg = load_config(config)
    aws, st = connect(profile=profile, region=region, endpoint_url=endpoint_url, sandbox=sandbox, config=cfg)
    settings = settings_from(cfg, st)
    console = Console(stderr=True)
    with console.status(f"triage {symptom}: collecting the request path") as status:
        def probes(snap, path):
            status.update("probing the service through the domain")
            return {"service": probe_service(path.domain, settings, timeout_s=probe_timeout, enabled=not no_probe,
                                             sandbox_state=st)}

        report = run(aws, target_from(domain, cluster, service, cfg, st), load_catalogue().load_playbook("snail-trail"),
                     settings, probes=probes, areas=set(AREAS), suppressions=cfg.suppressions)
        context, notes = gather_context(aws, report, step=lambda name: status.update(f"reading {name.replace('_', ' ')}"))
    if st is not None:
        notes.append("sandbox: its metrics, log lines and events are seeded by the scenario (simulated)")
        context["simulated"] = True
    t = Triage(symptom=symptom, first=first_broken(report, symptom), considered=SYMPTOMS[symptom], context=context,
               notes=notes)
    if fmt == "json":
        write_output(json.dumps(t.to_json(report), indent=2, default=str) + "\n", output)
    else:
        write_output(_render(t, report, color=output is None and sys.stdout.isatty()), output)
    raise typer.Exit(EXIT_FINDINGS if report.failing_at_or_above(fail_on) else EXIT_OK)


def _render(t, report, color: bool) -> str:
    import io

    from rich.console import Console
    from rich.text import Text

    from shine_ops.triage import fix_command

    buf = io.StringIO()
    con = Console(file=buf, force_terminal=color, color_system="standard" if color else None, width=120,
                  highlight=False)
    tg = report.target
    con.print(Text(f"triage {t.symptom}: {tg.get('domain') or ''} -> {tg.get('cluster')}/{tg.get('service')}",
                   style="bold"))
    if t.first is None:
        con.print(Text("No broken link found on the request path.", style="green"))
    else:
        f = t.first
        con.print(Text.assemble(("First broken link: ", "bold red"), (f.check, "bold"), f" [{f.severity}] ", f.summary))
        con.print(Text(f"  expected: {f.expected}", style="dim"))
        con.print(Text(f"  actual:   {f.actual}", style="dim"))
        if fix_command(f):
            con.print(Text(f"  fix: {fix_command(f)}", style="cyan"))
        others = [c for c in report.root_causes if c != f.check]
        if others:
            con.print(Text(f"  also broken: {', '.join(others)}", style="yellow"))
    ctx = t.context
    sections = [("Service events", [f"{e['at']}  {e['message']}" for e in ctx.get("service_events") or []]),
                ("Stopped tasks", [f"{s['task']}: {s['stopped_reason'] or ''} "
                                   + ", ".join(f"{c['name']} exit {c['exit_code']} {c['reason'] or ''}".strip()
                                               for c in s["containers"]) for s in ctx.get("stopped_tasks") or []]),
                ("Newest log lines", ctx.get("log_lines") or []),
                ("Load balancer, last hour", [_metric_line(lb, m) for lb, m in
                                              (ctx.get("load_balancer_metrics") or {}).items()]),
                ("Recent changes", [f"deployment {d['status']} {d['task_definition']} {d['rollout'] or ''}"
                                    for d in (ctx.get("recent_changes") or {}).get("deployments") or []]
                 + [f"revision {r}" for r in (ctx.get("recent_changes") or {}).get("task_definition_revisions") or []]
                 + [f"{e['at']} {e['event']} by {e['who']} on {e['resource']}"
                    for e in (ctx.get("recent_changes") or {}).get("cloudtrail") or []])]
    for title, lines in sections:
        con.print()
        con.print(Text(title, style="bold"))
        for line in lines or ["(none)"]:
            con.print(Text(f"  {line}"))
    for note in t.notes:
        con.print(Text(f"note: {note}", style="dim"))
    return buf.getvalue()


def _metric_line(lb: str, metrics: dict) -> str:
    parts = []
    for name, points in metrics.items():
        if not points:
            continue
        values = [v for p in points for k, v in p.items() if k != "at"]
        total = sum(values) if not name.endswith("Time") else sum(values) / len(values)
        parts.append(f"{name} {total:g}" + (" s avg" if name.endswith("Time") else ""))
    return f"{lb}: " + (", ".join(parts) if parts else "no datapoints")
