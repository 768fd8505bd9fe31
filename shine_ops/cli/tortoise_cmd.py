"""``shine-ops fix tortoise``: the careful cleanup of what the tortoise audit finds, account-wide.

Same machinery as ``fix alb-ecs`` (plan, saved plan, apply, verify, journal, rollback); what differs is the
scope (the whole account and region, no request path), that deletions need ``--allow-delete``, and that a fix
is verified by the audit no longer naming what it changed (other findings of the same check may remain: a
target group a listener still uses is reported, and left alone).
"""

from __future__ import annotations

from typing import List, Optional

import typer

from shine_ops.cli.common import ConfigOpt, EndpointOpt, ProfileOpt, RegionOpt, SandboxOpt, guarded, say, settings_from
from shine_ops.cli.fix_cmd import (ApplyOpt, ExpectAccountOpt, OnlyOpt, PlanFileOpt, PlanOutOpt, YesOpt, fix_app,
                                   load_saved_plan, open_account, present_and_apply, verify_playbook)


@fix_app.command("tortoise")
@guarded
def tortoise(
    apply: bool = ApplyOpt,
    yes: bool = YesOpt,
    allow_delete: bool = typer.Option(False, "--allow-delete",
                                      help="Also delete orphaned target groups and unused security groups (each "
                                           "saved first, so rollback can recreate it)."),
    plan_out: Optional[str] = PlanOutOpt,
    plan_file: Optional[str] = PlanFileOpt,
    only: Optional[List[str]] = OnlyOpt,
    expect_account: Optional[str] = ExpectAccountOpt,
    config: Optional[str] = ConfigOpt,
    profile: Optional[str] = ProfileOpt,
    region: Optional[str] = RegionOpt,
    endpoint_url: Optional[str] = EndpointOpt,
    sandbox: bool = SandboxOpt,
) -> None:
    """Plan the careful cleanup the tortoise audit calls for: stale task definition revisions, and with
    --allow-delete orphaned target groups and unused security groups. Changes nothing without --apply."""
    from shine_ops.engine.runner import load_catalogue
    from shine_ops.fixes.journal import store_for

    cfg, aws, st, ident = open_account(config, profile, region, endpoint_url, sandbox, expect_account, apply, yes)
    settings = settings_from(cfg, st)
    catalogue = load_catalogue()
    store = store_for(cfg, aws, ident.get("Arn"))
    journal = store.open(lock=apply)
    try:
        _cleanup(aws, ident, journal, cfg, settings, catalogue, apply=apply, yes=yes, allow_delete=allow_delete,
                 plan_out=plan_out, plan_file=plan_file, only=only)
    finally:
        store.close()


def _cleanup(aws, ident, journal, cfg, settings, catalogue, *, apply: bool, yes: bool, allow_delete: bool,
             plan_out: Optional[str], plan_file: Optional[str], only: Optional[List[str]]) -> None:
    from shine_ops.engine.runner import run_account
    from shine_ops.errors import UsageError
    from shine_ops.fixes.apply import Applier, make_account_plan

    applier = Applier(aws, journal, who=ident.get("Arn"), say=say)
    for note in applier.reconcile():
        say("journal: " + note)
    endpoint = aws.options.endpoint_url
    if plan_file:
        plan = load_saved_plan(plan_file, ident)
        if plan.target.get("scope") != "account":
            raise UsageError(f"{plan_file} is a plan of fix alb-ecs, not of fix tortoise",
                             hint="apply it with shine-ops fix alb-ecs --plan")
        # every change must still be called for: today's audit plans the same change on the same resource
        fresh, _ = make_account_plan(aws, settings, catalogue, allow_delete=True, endpoint=endpoint,
                                     suppressions=cfg.suppressions)
        today = {(c.fix, c.resource) for f in fresh.fixes for c in f.changes}
        stale = sorted({c.resource for c in plan.changes if (c.fix, c.resource) not in today})
        if stale:
            raise UsageError("the plan touches resources the audit no longer flags (or that something now "
                             "protects): " + ", ".join(stale), hint="plan again")
        deleting = [c for f in plan.fixes if not f.refused for c in f.changes if c.call.operation.startswith("Delete")]
        if deleting and not allow_delete:
            raise UsageError(f"{plan_file} deletes {len(deleting)} resource(s)", hint="add --allow-delete")
    else:
        plan, _ = make_account_plan(aws, settings, catalogue, allow_delete=allow_delete, only=only,
                                    endpoint=endpoint, suppressions=cfg.suppressions)

    def verify(fp) -> dict[str, str]:
        """Audit again: each check passes, or at least no longer names anything this fix changed."""
        report = run_account(aws, verify_playbook(catalogue, fp.verify), settings)
        touched = {c.resource for c in fp.changes}
        out = {}
        for f in report.findings:
            if f.status in ("pass", "skip") or (f.status == "fail" and not touched & set(f.resources)):
                out[f.check] = "pass"
            else:
                out[f.check] = f.status
        return out

    present_and_apply(aws, applier, plan, apply=apply, yes=yes, plan_out=plan_out, verify=verify)
