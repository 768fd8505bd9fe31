"""``shine-ops diagnose``: collect once, run a playbook, report, and exit with the documented code."""

from __future__ import annotations

from typing import List, Optional

import typer

from shine_ops.cli import app
from shine_ops.cli.common import (ClusterOpt, ConfigOpt, DomainOpt, EndpointOpt, ProfileOpt, RegionOpt, SandboxOpt,
                                  ServiceOpt, checks_dirs, choice, connect, guarded, say, settings_from, target_from,
                                  write_output)


@app.command()
@guarded
def diagnose(
    domain: Optional[str] = DomainOpt,
    cluster: Optional[str] = ClusterOpt,
    service: Optional[str] = ServiceOpt,
    playbook: str = typer.Option("snail-trail", "--playbook", help="Playbook name or YAML file."),
    fmt: str = typer.Option("table", "--format",
                            help="table, json, markdown, junit or html (one self-contained page)."),
    output: Optional[str] = typer.Option(None, "--output", help="Write the report to this file."),
    fail_on: str = typer.Option("high", "--fail-on", help="Exit 1 when a check fails at or above this severity."),
    no_probe: bool = typer.Option(False, "--no-probe", help="Skip live DNS/HTTP probes."),
    probe_timeout: float = typer.Option(10.0, "--probe-timeout", help="Time budget of all probes, seconds."),
    resolver: Optional[str] = typer.Option(None, "--resolver", metavar="IP[:PORT]",
                                           help="DNS server for the live resolution probe (default: the system's; "
                                                "with --sandbox, the sandbox's)."),
    checks_dir: Optional[List[str]] = typer.Option(None, "--checks-dir", help="Extra folder of checks/playbooks."),
    all_services: bool = typer.Option(False, "--all", help="Every service behind a load balancer in the account."),
    config: Optional[str] = ConfigOpt,
    profile: Optional[str] = ProfileOpt,
    region: Optional[str] = RegionOpt,
    endpoint_url: Optional[str] = EndpointOpt,
    sandbox: bool = SandboxOpt,
) -> None:
    """Follow the request path of a service and report every broken link, root cause first."""
    from shine_ops.config import load_config
    from shine_ops.engine.finding import SEVERITIES
    from shine_ops.engine.runner import load_catalogue, run
    from shine_ops.errors import EXIT_FINDINGS, EXIT_OK, UsageError
    from shine_ops.report import FORMATS, render

    choice(fmt, FORMATS, "--format")
    choice(fail_on, SEVERITIES, "--fail-on")
    if resolver is not None:
        from shine_ops.probes.dns import parse_resolver

        parse_resolver(resolver)  # a bad address is a usage error (2), before anything runs
    cfg = load_config(config)
    catalogue = load_catalogue(checks_dirs(checks_dir, cfg))
    pb = catalogue.load_playbook(playbook)
    aws, st = connect(profile=profile, region=region, endpoint_url=endpoint_url, sandbox=sandbox, config=cfg)
    settings = settings_from(cfg, st)

    from shine_ops.probes.live import live_probes

    probes = live_probes(settings, st, enabled=not no_probe, timeout_s=probe_timeout, resolver=resolver)

    from shine_ops.engine.runner import is_account_playbook

    if is_account_playbook(pb):  # account-wide (tortoise): no target; the report names the account/region
        if all_services:
            raise UsageError(f"playbook {pb.name!r} audits the whole account already: drop --all")
        if domain or cluster or service:
            say(f"note: playbook {pb.name!r} audits the whole account and region; --domain/--cluster/--service "
                "are not used")
        targets = [None]
    elif all_services:
        if domain or cluster or service:
            raise UsageError("--all diagnoses every service: drop --domain/--cluster/--service")
        from shine_ops.engine.runner import needed_areas
        from shine_ops.topology.shared import AccountSource

        aws.use_retry_mode("adaptive")  # hundreds of calls against one account: slow down when it throttles
        source = AccountSource(aws)  # the account read once; each service's path resolved from it
        source.prefetch(needed_areas(pb))
        targets = source.services_behind_load_balancers()
        if not targets:
            raise UsageError("no ECS service behind a load balancer in this account and region")
        say(f"diagnosing {len(targets)} services")
    else:
        targets = [target_from(domain, cluster, service, cfg, st)]
    from shine_ops.aws import ApiCalls

    if all_services:
        reports = _diagnose_all(aws, source, targets, pb, settings, probes, cfg.suppressions)
    else:
        aws.calls = ApiCalls()  # the report counts its own calls
        reports = [run(aws, targets[0], pb, settings, progress=None, probes=probes, suppressions=cfg.suppressions)]
    for report in reports:
        for note in report.notes:  # the table prints its notes itself
            if fmt != "table" or output:
                say("note: " + note)
    color = output is None and _stdout_tty()
    if all_services:
        from shine_ops.report import render_many

        write_output(render_many(reports, fmt, color=color), output)
    else:
        write_output(render(reports[0], fmt, color=color), output)
    failing = any(r.failing_at_or_above(fail_on) for r in reports)
    raise typer.Exit(EXIT_FINDINGS if failing else EXIT_OK)


def _diagnose_all(aws, source, targets, pb, settings, probes, suppressions) -> list:
    """Every target's path from the one account read, several at once, a progress bar on a terminal; each
    report's ``api_calls`` are the shared read's, with ``shared: {targets, total}``."""
    from shine_ops.engine.runner import run
    from shine_ops.progress import ProgressBar
    from shine_ops.topology.shared import for_each, shared_api_calls

    with ProgressBar(len(targets), "diagnosing") as bar:
        reports = for_each(lambda t: run(aws, t, pb, settings, progress=None, probes=probes, suppressions=suppressions,
                                         source=source), targets,
                           done=lambda _i, r: bar.advance(f"{r.target.get('cluster')}/{r.target.get('service')}"))
    calls = shared_api_calls(aws, len(reports))
    for r in reports:
        r.api_calls = calls
    return reports


def _stdout_tty() -> bool:
    import sys

    return sys.stdout.isatty()
