"""Plan assembly for ``fix alb-ecs`` and ``fix tortoise``: a fresh plan, or a saved one that passes its scope
guard, with how each fix is verified and gated.

The commands parse options, call ``path_job`` or ``account_job``, and hand the job to the applier; everything
that decides what may be applied (the saved plan's hash and account, the scope guards, the gates declared on
the fixes) is decided here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from shine_ops.errors import UsageError
from shine_ops.fixes import FixPlan, Plan
from shine_ops.fixes.scope import refuse_off_path, refuse_stale_account_plan, require_account_plan
from shine_ops.fixes.verify import Verdicts, account_verifier, gate_checker, path_verifier


@dataclass
class FixJob:
    """What a fix command presents and, with ``--apply``, applies: the plan, and the callables the applier
    runs per fix (verify after it, gate before it)."""

    plan: Plan
    verify: Callable[[FixPlan], Verdicts]
    gate: Callable[[FixPlan], str | None] | None = None


def load_saved_plan(plan_file: str, ident: dict) -> Plan:
    """A plan saved with --plan-out, refused when edited since (its sha256) or made for another account."""
    try:
        with open(plan_file, encoding="utf-8") as fh:
            plan = Plan.from_json(json.loads(fh.read()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{plan_file}: not a shine-ops plan ({exc})") from None
    if saved_hash(plan_file) != plan.hash:
        raise UsageError(f"{plan_file} was edited after it was saved (its sha256 does not match)",
                         hint="plan again with --plan-out")
    if plan.account and plan.account != ident.get("Account"):
        raise UsageError(f"{plan_file} was made for account {plan.account}, this is {ident.get('Account')}")
    return plan


def saved_hash(plan_file: str) -> str | None:
    """The hash a saved plan file says it has (compared with the hash of what it holds)."""
    with open(plan_file, encoding="utf-8") as fh:
        return json.load(fh).get("hash")


def path_job(aws: Any, target: Any, settings: Any, catalogue: Any, *, ident: dict, only: list[str] | None,
             plan_file: str | None, endpoint: str | None) -> FixJob:
    """``fix alb-ecs``: plan the repairs of the request path, or take the saved plan when every change still
    lies on today's diagnosed path; verify each fix on the configuration, gate it as its ``@fix`` declares."""
    from shine_ops.fixes.apply import make_plan

    if plan_file:
        plan = load_saved_plan(plan_file, ident)
        _fresh, report = make_plan(aws, target, settings, catalogue, endpoint=endpoint)
        refuse_off_path(plan, report)
    else:
        plan, _ = make_plan(aws, target, settings, catalogue, only=only, endpoint=endpoint)
    return FixJob(plan=plan, verify=path_verifier(aws, target, settings, catalogue),
                  gate=gate_checker(aws, target, settings, catalogue))


def account_job(aws: Any, settings: Any, catalogue: Any, *, ident: dict, allow_delete: bool,
                only: list[str] | None, plan_file: str | None, endpoint: str | None,
                suppressions: list[Any]) -> FixJob:
    """``fix tortoise``: plan the careful cleanup of the account, or take the saved plan when today's audit
    would plan every change of it again (and ``--allow-delete`` is given again for its deletions)."""
    from shine_ops.fixes.apply import make_account_plan

    if plan_file:
        plan = load_saved_plan(plan_file, ident)
        require_account_plan(plan, plan_file)
        fresh, _ = make_account_plan(aws, settings, catalogue, allow_delete=True, endpoint=endpoint,
                                     suppressions=suppressions)
        refuse_stale_account_plan(plan, fresh, plan_file, allow_delete=allow_delete)
    else:
        plan, _ = make_account_plan(aws, settings, catalogue, allow_delete=allow_delete, only=only,
                                    endpoint=endpoint, suppressions=suppressions)
    return FixJob(plan=plan, verify=account_verifier(aws, settings, catalogue))
