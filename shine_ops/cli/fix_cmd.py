"""``shine-ops fix alb-ecs``, ``shine-ops rollback``, ``shine-ops history``: options, the plan as people read it,
the question before applying. What may be applied is decided below the CLI: plan assembly in
``shine_ops.fixes.plan``, the saved plan's scope guard in ``shine_ops.fixes.scope``, verification and the gates
declared on the fixes (``@fix(gate=...)``) in ``shine_ops.fixes.verify``."""

from __future__ import annotations

import json
import sys
from typing import List, Optional

import typer

from shine_ops.cli import app
from shine_ops.cli.common import (ClusterOpt, ConfigOpt, DomainOpt, EndpointOpt, ProfileOpt, RegionOpt, SandboxOpt,
                                  ServiceOpt, connect, guarded, say, settings_from, target_from)

ApplyOpt = typer.Option(False, "--apply", help="Make the changes (asks first unless --yes).")
YesOpt = typer.Option(False, "--yes", help="Do not ask.")
PlanOutOpt = typer.Option(None, "--plan-out", help="Save the plan (JSON, with its hash).")
PlanFileOpt = typer.Option(None, "--plan", help="Apply exactly this saved plan.")
OnlyOpt = typer.Option(None, "--only", help="Only this fix id (repeatable).")
ExpectAccountOpt = typer.Option(None, "--expect-account", help="Refuse to run in any other account.")
WaitOpt = typer.Option(False, "--wait", help="After the changes verify, wait until the targets are healthy and the "
                                             "live health check passes through the domain; report the time to green.")
WaitTimeoutOpt = typer.Option(300.0, "--wait-timeout", metavar="SECONDS",
                              help="How long --wait waits; then exit 1 naming what is not green (nothing is rolled "
                                   "back).")
NoProbeOpt = typer.Option(False, "--no-probe", help="With --wait: no live probes (wait for healthy targets only).")

fix_app = typer.Typer(help="Plan and apply repairs: a plan first, then apply, verify, journal, rollback.",
                      no_args_is_help=True)
app.add_typer(fix_app, name="fix")


def render_plan(plan) -> str:
    from shine_ops.fixes import short_resource, show_value

    t = plan.target
    if t.get("scope") == "account":
        title = f"the careful cleanup of account {t.get('account')} in {t.get('region')}"
    else:
        title = f"{t.get('domain') or t.get('cluster') + '/' + str(t.get('service'))} -> {t.get('cluster')}/{t.get('service')}"
    lines = [f"Plan {plan.plan_id} (sha256 {plan.hash[:12]}) for {title}",
             f"account {plan.account}, region {plan.region}, endpoint {plan.endpoint or 'AWS default'}", ""]
    if not plan.fixes:
        lines.append("Nothing to change: no failing check has a fix.")
        return "\n".join(lines) + "\n"
    n = 0
    for fp in plan.fixes:
        lines.append(f"{fp.fix}  (repairs {fp.check})" + (f"  NOT APPLIED: {fp.refused}" if fp.refused else ""))
        lines.append(f"  {fp.summary}")
        for ch in fp.changes:
            n += 1
            lines.append(f"  {n:2}. {ch.call.describe():40} {short_resource(ch.resource)}")
            lines.append(f"      {ch.description}")
            for k in dict.fromkeys(list(ch.before) + list(ch.after)):
                if k in ch.before:
                    lines.append(f"      - {k}: {show_value(ch.before[k])}")
                if k in ch.after:
                    lines.append(f"      + {k}: {show_value(ch.after[k])}")
            if ch.saved:
                lines.append("      saved first: the configuration needed to recreate it (in the journal)")
            if not ch.reversible:
                lines.append(f"      ! AWS cannot undo this step{': ' + ch.undo_note if ch.undo_note else ''}")
        for note in fp.notes:
            lines.append(f"  left alone: {note}")
        lines.append(f"  verify: {', '.join(fp.verify)} must pass afterwards" if t.get("scope") != "account" else
                     f"  verify: {', '.join(fp.verify)} must no longer name what was changed")
        lines.append("")
    lines.append(f"{len(plan.changes)} change(s) in {len([f for f in plan.fixes if not f.refused])} fix(es). "
                 "Every change is journaled with its inverse; `shine-ops rollback ID` undoes it"
                 + (", except the steps marked ! (rollback recreates what it can from the saved configuration)."
                    if any(not c.reversible for c in plan.changes) else "."))
    return "\n".join(lines) + "\n"


@fix_app.command("alb-ecs")
@guarded
def alb_ecs(
    domain: Optional[str] = DomainOpt,
    cluster: Optional[str] = ClusterOpt,
    service: Optional[str] = ServiceOpt,
    apply: bool = ApplyOpt,
    yes: bool = YesOpt,
    plan_out: Optional[str] = PlanOutOpt,
    plan_file: Optional[str] = PlanFileOpt,
    only: Optional[List[str]] = OnlyOpt,
    expect_account: Optional[str] = ExpectAccountOpt,
    wait: bool = WaitOpt,
    wait_timeout: float = WaitTimeoutOpt,
    no_probe: bool = NoProbeOpt,
    config: Optional[str] = ConfigOpt,
    profile: Optional[str] = ProfileOpt,
    region: Optional[str] = RegionOpt,
    endpoint_url: Optional[str] = EndpointOpt,
    sandbox: bool = SandboxOpt,
) -> None:
    """Plan the repairs for every failing check that has a fix; change nothing without --apply."""
    from shine_ops.engine.runner import load_catalogue
    from shine_ops.errors import UsageError

    if wait and not apply:
        raise UsageError("--wait waits for traffic after changes: it needs --apply")
    if not wait_timeout > 0:
        raise UsageError(f"--wait-timeout must be positive, not {wait_timeout:g}")
    cfg, aws, st, ident = open_account(config, profile, region, endpoint_url, sandbox, expect_account, apply, yes)
    settings = settings_from(cfg, st)
    catalogue = load_catalogue()
    target = target_from(domain, cluster, service, cfg, st)
    endpoint = aws.options.endpoint_url
    from shine_ops.fixes.journal import store_for

    store = store_for(cfg, aws, ident.get("Arn"))
    journal = store.open(lock=apply)
    applied: dict = {}  # present_and_apply says whether the changes verified (or nothing needed changing)
    try:
        try:
            _fix_with_journal(aws, ident, journal, settings, catalogue, target, endpoint, apply, yes, plan_out,
                              plan_file, only, applied)
        finally:
            store.close()  # the journal's lock is not held while waiting for traffic
    except typer.Exit:
        if not (wait and applied.get("ok")):
            raise
        _wait_for_traffic(aws, target, settings, catalogue, st, probes_on=not no_probe, timeout_s=wait_timeout)


def _wait_for_traffic(aws, target, settings, catalogue, st, *, probes_on: bool, timeout_s: float) -> None:
    """--wait: until the targets are healthy and the live health probe passes; exit 0 green, 1 not (no rollback)."""
    from shine_ops.fixes.wait import report_lines, run_traffic_checks, traffic_checks, wait_for_traffic
    from shine_ops.probes.live import live_probes

    checks = traffic_checks(probes_on)
    probes = live_probes(settings, st, enabled=probes_on) if probes_on else None
    say(f"waiting up to {timeout_s:g} s for traffic: {', '.join(checks)} must pass")
    result = wait_for_traffic(lambda: run_traffic_checks(aws, target, settings, catalogue, probes, checks),
                              timeout_s=timeout_s, say=say)
    for line in report_lines(result, timeout_s):
        typer.echo(line)
    raise typer.Exit(result.exit_code)


def open_account(config, profile, region, endpoint_url, sandbox, expect_account, apply: bool, yes: bool):
    """(config, Aws, sandbox state, identity) for a command that may change the account; refuses early."""
    from shine_ops.config import load_config
    from shine_ops.errors import UsageError

    if apply and not yes and not sys.stdin.isatty():
        raise UsageError("--apply without --yes needs a terminal to ask on", hint="add --yes")
    cfg = load_config(config)
    aws, st = connect(profile=profile, region=region, endpoint_url=endpoint_url, sandbox=sandbox, config=cfg)
    ident = aws.identity()
    if expect_account and ident.get("Account") != expect_account:
        raise UsageError(f"this is account {ident.get('Account')}, not {expect_account} (--expect-account)")
    return cfg, aws, st, ident


def _fix_with_journal(aws, ident, journal, settings, catalogue, target, endpoint, apply, yes, plan_out, plan_file,
                      only, applied: dict | None = None) -> None:
    """Reconcile the journal, take the plan (fresh, or saved and still in scope), present it, and apply it."""
    from shine_ops.fixes.apply import Applier
    from shine_ops.fixes.plan import path_job

    applier = Applier(aws, journal, who=ident.get("Arn"), say=say)
    for note in applier.reconcile():
        say("journal: " + note)
    job = path_job(aws, target, settings, catalogue, ident=ident, only=only, plan_file=plan_file, endpoint=endpoint)
    present_and_apply(aws, applier, job.plan, apply=apply, yes=yes, plan_out=plan_out, verify=job.verify,
                      gate=job.gate, applied=applied)


def present_and_apply(aws, applier, plan, *, apply: bool, yes: bool, plan_out: str | None, verify,
                      gate=None, applied: dict | None = None) -> None:
    """Print (and save) the plan; with --apply, confirm, apply, verify and report. Always exits. ``applied["ok"]``
    says whether, with --apply, everything verified or nothing needed changing (what --wait waits after)."""
    typer.echo(render_plan(plan), nl=False)
    if plan_out:
        with open(plan_out, "w", encoding="utf-8") as fh:
            json.dump(plan.to_json(), fh, indent=2, default=str)
        say(f"plan saved to {plan_out} (sha256 {plan.hash[:12]})")

    def calls_line() -> None:
        say(f"api calls: {aws.calls.total} total, {sum(aws.calls.mutating.values())} mutating")

    if not apply:
        if plan.changes:
            say("nothing changed (plan only); apply with --apply")
        calls_line()
        raise typer.Exit(0)
    if not plan.changes:
        typer.echo("nothing to change")
        calls_line()
        if applied is not None:
            applied["ok"] = True
        raise typer.Exit(0)
    say(f"about to change account {plan.account}, region {plan.region}, "
        f"endpoint {plan.endpoint or 'AWS default'}")
    if not yes and not typer.confirm(f"apply {len(plan.changes)} change(s)?", default=False):
        typer.echo("nothing changed")
        raise typer.Exit(0)
    result = applier.apply(plan, verify, gate)
    for note in result.notes:
        typer.echo(note)
    typer.echo(f"apply {result.apply_id}: {result.status}, {len(result.applied)} change(s) applied"
               + (f"; undo with: shine-ops rollback {result.apply_id}" if result.applied else ""))
    calls_line()
    if applied is not None:
        applied["ok"] = result.exit_code == 0
    raise typer.Exit(result.exit_code)


@app.command()
@guarded
def rollback(change_id: str = typer.Argument(..., help="A change id or an apply id from `shine-ops history`."),
             yes: bool = typer.Option(False, "--yes", help="Do not ask."),
             config: Optional[str] = ConfigOpt,
             profile: Optional[str] = ProfileOpt, region: Optional[str] = RegionOpt,
             endpoint_url: Optional[str] = EndpointOpt, sandbox: bool = SandboxOpt) -> None:
    """Undo an applied change (or a whole apply) from the journal, newest first, and verify."""
    from shine_ops.config import load_config
    from shine_ops.errors import UsageError
    from shine_ops.fixes.journal import Journal, store_for

    cfg = load_config(config)
    if cfg.get("state") and not yes and not sys.stdin.isatty():
        raise UsageError("rollback without --yes needs a terminal to ask on", hint="add --yes")
    if cfg.get("state") and not yes and not typer.confirm(f"roll back {change_id}?", default=False):
        raise typer.Exit(1)
    if cfg.get("state"):  # the team journal: open it where the state lives, with its lock
        aws, _ = connect(profile=profile, region=region, endpoint_url=endpoint_url, sandbox=sandbox, config=cfg)
        store = store_for(cfg, aws, aws.identity().get("Arn"))
        journal = store.open(lock=True)
        try:
            _rollback(journal, aws, change_id, yes)
        finally:
            store.close()
        return
    journal = Journal.default()
    row = journal.change(change_id)
    apply_row = journal.apply_row(row["apply_id"] if row else change_id)
    if row is None and apply_row is None:
        raise UsageError(f"no change or apply {change_id!r} in the journal", hint="see shine-ops history")
    if not endpoint_url and not sandbox and apply_row is not None and apply_row["endpoint"]:
        endpoint_url = apply_row["endpoint"]  # roll back where the change was made
        from shine_ops.sandbox import control

        running = control.running()
        if running and running.get("endpoint") == endpoint_url:
            sandbox = True  # it was the sandbox: use its dummy credentials, never a real profile
    if not region and apply_row is not None:
        region = apply_row["region"]
    if sandbox:
        endpoint_url = None
    if not yes and not sys.stdin.isatty():
        raise UsageError("rollback without --yes needs a terminal to ask on", hint="add --yes")
    if not yes and not typer.confirm(f"roll back {change_id}?", default=False):
        raise typer.Exit(1)
    aws, _ = connect(profile=profile, region=region, endpoint_url=endpoint_url, sandbox=sandbox)
    _rollback(journal, aws, change_id, yes=True)


def _rollback(journal, aws, change_id: str, yes: bool) -> None:
    from shine_ops.fixes.apply import Applier

    applier = Applier(aws, journal, who=aws.identity().get("Arn"), say=say)
    for note in applier.reconcile():
        say("journal: " + note)
    rb_id, problems, count = applier.rollback(change_id)
    for p in problems:
        typer.echo(p)
    for x in applier.not_undone:
        typer.echo(f"not undone (AWS cannot undo it): {x}")
    undone = count - len(applier.not_undone)
    if not undone and not problems:
        typer.echo(f"rollback {rb_id}: nothing could be undone ({count} change(s) AWS cannot undo)")
        raise typer.Exit(1)
    typer.echo(f"rollback {rb_id}: {'restored and verified' if not problems else 'NOT fully restored'} "
               f"({undone} change(s)" + (f"; {len(applier.not_undone)} AWS cannot undo" if applier.not_undone else "")
               + ")")
    raise typer.Exit(1 if problems else 0)


@app.command()
@guarded
def history(as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
            limit: int = typer.Option(20, "--limit", help="How many applies to show."),
            config: Optional[str] = ConfigOpt, profile: Optional[str] = ProfileOpt,
            region: Optional[str] = RegionOpt, endpoint_url: Optional[str] = EndpointOpt,
            sandbox: bool = SandboxOpt,
            check: Optional[str] = typer.Option(None, "--check", help="One check's pass/fail over time across audits."),
            audits: bool = typer.Option(False, "--audits", help="Only audits (with --json: the audits as JSON).")) -> None:
    """Applied changes and audits, newest last: applies and rollbacks with each change, then the audits."""
    from shine_ops.config import load_config
    from shine_ops.fixes.journal import Journal, store_for

    cfg = load_config(config)

    def audits_part(only: bool) -> None:  # the audit history (shine_ops/audit/history.py), local or in S3
        from shine_ops.audit.history import print_history

        print_history(cfg, lambda: connect(profile=profile, region=region, endpoint_url=endpoint_url,
                                           sandbox=sandbox, config=cfg)[0],
                      check=check, audits_only=only, as_json=as_json, limit=limit, echo=typer.echo)

    if check or audits:
        audits_part(True)
        return
    if cfg.get("state"):
        aws, _ = connect(profile=profile, region=region, endpoint_url=endpoint_url, sandbox=sandbox, config=cfg)
        store = store_for(cfg, aws)
        try:
            _history(store.open(lock=False), as_json, limit)
        finally:
            store.close()
        audits_part(False)
        return
    _history(Journal.default(), as_json, limit)
    audits_part(False)


def _history(journal, as_json: bool, limit: int) -> None:
    applies = journal.applies()[-limit:]
    if as_json:
        typer.echo(json.dumps([dict(a) | {"changes": [dict(c) for c in journal.changes(a["apply_id"])]}
                               for a in applies], indent=2, default=str))
        return
    if not applies:
        typer.echo("no changes recorded")
        return
    for a in applies:
        typer.echo(f"{a['apply_id']}  {a['kind']:8} {a['status']:11} {a['started_at']}  by {a['who']}"
                   + (f"  ({a['note']})" if a["note"] else ""))
        for c in journal.changes(a["apply_id"]):
            typer.echo(f"    {c['change_id']}  {c['status']:11} {c['fix']:34} {c['description']}")
