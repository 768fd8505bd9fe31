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
                                   open_account, present_and_apply)


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
    from shine_ops.fixes.apply import Applier
    from shine_ops.fixes.plan import account_job

    applier = Applier(aws, journal, who=ident.get("Arn"), say=say)
    for note in applier.reconcile():
        say("journal: " + note)
    job = account_job(aws, settings, catalogue, ident=ident, allow_delete=allow_delete, only=only,
                      plan_file=plan_file, endpoint=aws.options.endpoint_url, suppressions=cfg.suppressions)
    present_and_apply(aws, applier, job.plan, apply=apply, yes=yes, plan_out=plan_out, verify=job.verify)
