"""``shine-ops map``: draw the request path as a tree or a diagram (Mermaid, DOT, SVG), marked by its checks."""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from shine_ops.cli import app
from shine_ops.cli.common import (ClusterOpt, ConfigOpt, DomainOpt, EndpointOpt, ProfileOpt, RegionOpt, SandboxOpt,
                                  ServiceOpt, choice, connect, guarded, settings_from, target_from, write_output)

FORMATS = ("tree", "json", "mermaid", "dot", "svg")
PROBE_BUDGET_S = 10.0


@app.command("map")
@guarded
def map_cmd(
    domain: Optional[str] = DomainOpt,
    cluster: Optional[str] = ClusterOpt,
    service: Optional[str] = ServiceOpt,
    fmt: str = typer.Option("tree", "--format", help="tree, json, mermaid (flowchart text), dot (Graphviz) or svg "
                                                     "(a picture; failing links red, root causes numbered)."),
    output: Optional[str] = typer.Option(None, "--output", help="Write to this file."),
    all_lbs: bool = typer.Option(False, "--all", help="The whole account: every domain -> load balancer -> rules -> "
                                                      "target groups -> services, and every load balancer with the "
                                                      "records that reach it (none: orphaned)."),
    no_probe: bool = typer.Option(False, "--no-probe", help="Skip live DNS/HTTP probes (their checks are skipped)."),
    config: Optional[str] = ConfigOpt,
    profile: Optional[str] = ProfileOpt,
    region: Optional[str] = RegionOpt,
    endpoint_url: Optional[str] = EndpointOpt,
    sandbox: bool = SandboxOpt,
) -> None:
    """record -> load balancer -> listener -> rule -> target group -> targets -> service -> task definition."""
    from shine_ops.config import load_config
    from shine_ops.engine.runner import load_catalogue, run
    from shine_ops.topology.tree import build_tree, render_tree

    choice(fmt, FORMATS, "--format")
    if all_lbs and fmt not in ("tree", "json"):
        from shine_ops.errors import UsageError

        raise UsageError(f"--format {fmt} draws one request path; --all prints tree or json")
    cfg = load_config(config)
    pb = load_catalogue().load_playbook("snail-trail")
    aws, st = connect(profile=profile, region=region, endpoint_url=endpoint_url, sandbox=sandbox, config=cfg)
    if all_lbs:
        from shine_ops.errors import UsageError

        if domain or cluster or service:
            raise UsageError("--all maps the whole account: drop --domain/--cluster/--service")
        from shine_ops.topology.account import collect_account
        from shine_ops.topology.ownership import build_ownership, render_ownership

        aws.use_retry_mode("adaptive")  # one account read of many calls: slow down when the account throttles
        snap = collect_account(aws)  # the bulk reads, side by side (topology/account.py)
        own = build_ownership(snap)
        if fmt == "json":
            write_output(json.dumps({"schema": "shine-ops.map-all/v1", "account": snap.account, "region": snap.region,
                                     **own, "api_calls": aws.calls.to_json()}, indent=2) + "\n", output)
        else:
            write_output(render_ownership(own, color=output is None and sys.stdout.isatty()), output)
        return
    from shine_ops.probes.live import live_probes
    from shine_ops.topology.collect import AREAS

    settings = settings_from(cfg, st)
    report = run(aws, target_from(domain, cluster, service, cfg, st), pb, settings, areas=set(AREAS),
                 probes=live_probes(settings, st, enabled=not no_probe, timeout_s=PROBE_BUDGET_S),
                 suppressions=cfg.suppressions)
    from shine_ops.report.diagram import build_diagram

    # the snail-trail's verdicts colour the picture: the same root causes, in the same order, as diagnose
    diagram = build_diagram(report.snapshot, report.request_path, report.findings, report.root_causes)
    if fmt in ("mermaid", "dot", "svg"):
        from shine_ops.report.diagram_text import render_dot, render_mermaid
        from shine_ops.report.svg import render_svg

        write_output({"mermaid": render_mermaid, "dot": render_dot, "svg": render_svg}[fmt](diagram), output)
        return
    marks = {h["hop"]: h["status"] for h in report.path}
    tree = build_tree(report.snapshot, report.request_path, marks)
    if fmt == "json":
        write_output(json.dumps({"schema": "shine-ops.map/v1", "target": report.target, "tree": tree,
                                 "diagram": diagram.to_json(), "api_calls": report.api_calls}, indent=2) + "\n",
                     output)
    else:
        write_output(render_tree(tree, color=output is None and sys.stdout.isatty()), output)
