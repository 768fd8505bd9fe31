"""How a fix is proven and held back: collect again and judge the checks it names.

- ``path_verifier``: after a ``fix alb-ecs`` fix, its ``verify`` checks no longer fail on a fresh collection.
- ``account_verifier``: after a ``fix tortoise`` fix, the audit no longer names what it changed.
- ``gate_checker``: right before a fix is applied, the checks its ``@fix(gate=...)`` declares do not fail.

The applier calls these with one ``FixPlan``; they are built here, beside the fixes, so the commands only pass
them along.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from shine_ops.fixes import FixPlan, load_fixes

Verdicts = dict[str, str]  # check id -> status


def verify_playbook(catalogue: Any, checks: list[str] | tuple[str, ...]) -> Any:
    """A playbook of just these checks, as the catalogue defines them (what verification re-runs)."""
    from shine_ops.engine.catalogue import Playbook, PlaybookEntry

    return Playbook(name="verify", description="", entries=[
        PlaybookEntry(check=catalogue.checks[c], severity=catalogue.checks[c].severity, params=catalogue.checks[c].params)
        for c in checks])


def evaluate_now(aws: Any, target: Any, settings: Any, catalogue: Any, checks: list[str] | tuple[str, ...]) -> Verdicts:
    """Collect again and evaluate these checks on the request path: the proof that a fix worked."""
    from shine_ops.engine.runner import run

    report = run(aws, target, verify_playbook(catalogue, checks), settings)
    return {f.check: f.status for f in report.findings}


def verify_configuration(aws: Any, target: Any, settings: Any, catalogue: Any, checks: list[str]) -> Verdicts:
    """Collect again and judge the configuration a fix changed: target health, reason codes and service events
    still predate the change (health converges over interval x healthy threshold), so the checks run in
    ``settling`` mode, and a check that no longer fails verifies (it may now lack evidence to pass)."""
    verdicts = evaluate_now(aws, target, dataclasses.replace(settings, settling=True), catalogue, checks)
    return {c: ("pass" if s in ("pass", "warn", "skip") else s) for c, s in verdicts.items()}


def path_verifier(aws: Any, target: Any, settings: Any, catalogue: Any) -> Callable[[FixPlan], Verdicts]:
    """``fix alb-ecs``: each fix's ``verify`` checks, judged on the configuration (see ``verify_configuration``)."""

    def verify(fp: FixPlan) -> Verdicts:
        return verify_configuration(aws, target, settings, catalogue, fp.verify)

    return verify


def gate_checker(aws: Any, target: Any, settings: Any, catalogue: Any) -> Callable[[FixPlan], str | None]:
    """Why a fix must wait (its declared ``Gate`` checks fail now), or None. Fixes without a gate are not judged,
    so no collection is spent on them."""
    specs = load_fixes()

    def gate(fp: FixPlan) -> str | None:
        spec = specs.get(fp.fix)
        if spec is None or spec.gate is None:
            return None
        return spec.gate.why_not(evaluate_now(aws, target, settings, catalogue, spec.gate.checks))

    return gate


def account_verifier(aws: Any, settings: Any, catalogue: Any) -> Callable[[FixPlan], Verdicts]:
    """``fix tortoise``: audit again; each check passes, or at least no longer names anything this fix changed
    (other findings of the same check may remain: a target group a listener still uses is left alone)."""

    def verify(fp: FixPlan) -> Verdicts:
        from shine_ops.engine.runner import run_account

        report = run_account(aws, verify_playbook(catalogue, fp.verify), settings)
        return judge_account_findings(report.findings, {c.resource for c in fp.changes})

    return verify


def judge_account_findings(findings: list[Any], touched: set[str]) -> Verdicts:
    """Per check: ``pass`` when it passes or skips, or fails only on resources this fix did not touch."""
    out: Verdicts = {}
    for f in findings:
        if f.status in ("pass", "skip") or (f.status == "fail" and not touched & set(f.resources)):
            out[f.check] = "pass"
        else:
            out[f.check] = f.status
    return out
