"""The human report: the root cause first with what to do, then every check grouped by hop."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from shine_ops.fixes import command_for

STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim", "error": "magenta"}
HOP_TITLE = {"dns": "DNS", "load_balancer": "Load balancer", "listener": "Listener & rules",
             "target_group": "Target group", "targets": "Targets", "service": "ECS service",
             "task_definition": "Task definition", "network": "Network (SG/NACL)", "app": "Application",
             "account": "Account"}


def render_table(report: Any, *, color: bool = True, width: int = 120) -> str:
    from shine_ops.engine.runner import HOP_ORDER

    buf = io.StringIO()
    con = Console(file=buf, force_terminal=color, color_system="standard" if color else None, width=width,
                  highlight=False, soft_wrap=False)
    t = report.target
    from shine_ops.report import target_label

    account_wide = t.get("scope") == "account"
    who = target_label(t)
    svc = f"{t.get('cluster')}/{t.get('service')}" if t.get("service") else "no ECS service found"
    con.print(Text.assemble(("shine-ops " + report.playbook, "bold"), f"  {who}" + ("" if account_wide else f" -> {svc}") + "  "
                            f"(account {t.get('account')}, {t.get('region')})"))
    for note in report.notes:
        con.print(Text("note: " + note, style="yellow"))
    by_id = {f.check: f for f in report.findings}
    if report.root_causes:
        con.print()
        con.print(Text("Root cause" + ("s" if len(report.root_causes) > 1 else "")
                       + (":" if account_wide else ", in request-path order:"), style="bold red"))
        for i, cid in enumerate(report.root_causes, 1):
            f = by_id[cid]
            con.print(Text.assemble((f" {i}. ", "bold"), (f.check, "bold"), f" [{f.severity}] ", f.summary))
            if f.expected or f.actual:
                con.print(Text(f"      expected: {f.expected}", style="dim"))
                con.print(Text(f"      actual:   {f.actual}", style="dim"))
            if f.fix:
                con.print(Text(f"      fix: {command_for(f.fix)}", style="cyan"))
    table = Table(show_header=True, header_style="bold", expand=False, pad_edge=False, box=None)
    table.add_column("hop", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("summary", overflow="fold")
    order = {h: i for i, h in enumerate(HOP_ORDER)}
    for f in sorted(report.findings, key=lambda f: order.get(f.hop, 99)):
        status = f.status.upper()
        if f.suppressed:
            status += " (suppressed)"
        summary = f.summary + (" (simulated)" if f.simulated else "")
        table.add_row(HOP_TITLE.get(f.hop, f.hop), Text(status, style=STYLE[f.status]), f.severity, f.check, summary)
    con.print()
    con.print(table)
    s = report.summary
    con.print()
    con.print(f"{s['pass']} passed, {s['fail']} failed, {s['warn']} warnings, {s['skip']} skipped, {s['error']} errors"
              f" - {report.api_calls['total']} API calls ({report.api_calls.get('retries', 0)} retries), "
              f"{report.duration_s:.2f} s")
    return buf.getvalue()
