"""The fix strategy: plan, then emit each fix's changes to the change runner, verify, roll back a fix that fails.

- ``make_plan`` / ``make_account_plan``: diagnose, then ask each fix (in order) for its changes; nothing is
  called that mutates.
- ``Applier.apply``: refuse a plan whose "before" values no longer hold (drift); emit each fix's changes to a
  run of ``shine_ops.changes.ChangeRunner`` (intent -> call -> complete); verify each fix by collecting again
  and re-running its checks; a fix that fails verification is rolled back at once. A failed call stops the run
  and leaves the journal matching reality (``rollback APPLY_ID`` undoes what was applied).
- ``Applier.rollback``: ``ChangeRunner.rollback_id`` (the recorded inverses replayed, then verified).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from shine_ops import __version__
from shine_ops.aws import Aws
from shine_ops.changes import ids
from shine_ops.changes.runner import ChangeRunner
from shine_ops.errors import ShineOpsError
from shine_ops.fixes import FixPlan, Plan, PlanContext, Probe, load_fixes
from shine_ops.fixes.journal import Journal


class DriftError(ShineOpsError):
    """The live state no longer matches the plan's "before": nothing was changed."""

    exit_code = 1


@dataclass
class ApplyResult:
    apply_id: str
    status: str  # applied | nothing | failed | rolled_back
    applied: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0 if self.status in ("applied", "nothing") else 1


def make_plan(aws: Aws, target: Any, settings: Any, catalogue: Any, *, only: list[str] | None = None,
              endpoint: str | None = None) -> tuple[Plan, Any]:
    """Diagnose with snail-trail and plan the repairs of every failing check that has a fix."""
    from shine_ops.engine.runner import run
    from shine_ops.topology.collect import AREAS

    specs = _specs("path", only)
    report = run(aws, target, catalogue.load_playbook("snail-trail"), settings, areas=set(AREAS))
    return _plan(report, specs, only, endpoint, settings), report


def make_account_plan(aws: Aws, settings: Any, catalogue: Any, *, allow_delete: bool = False,
                      only: list[str] | None = None, endpoint: str | None = None,
                      suppressions: list[Any] | None = None) -> tuple[Plan, Any]:
    """Audit the account with the tortoise playbook and plan the careful cleanup (``fix tortoise``).

    Deleting fixes are planned either way, so the plan shows what ``--allow-delete`` would remove; without it
    they are marked refused and nothing of theirs is applied."""
    from shine_ops.engine.runner import run_account

    specs = _specs("account", only)
    report = run_account(aws, catalogue.load_playbook("tortoise"), settings, suppressions=suppressions)
    return _plan(report, specs, only, endpoint, settings, aws=aws, allow_delete=allow_delete,
                 suppressions=list(suppressions or [])), report


def _specs(scope: str, only: list[str] | None) -> list[Any]:
    from shine_ops.errors import UsageError

    specs = {k: s for k, s in load_fixes().items() if s.scope == scope}
    unknown = [o for o in only or [] if o not in specs]
    if unknown:
        raise UsageError(f"unknown fix id {unknown[0]!r}", hint="known: " + ", ".join(sorted(specs)))
    return sorted(specs.values(), key=lambda s: s.order)


def _plan(report: Any, specs: list[Any], only: list[str] | None, endpoint: str | None, settings: Any,
          **context: Any) -> Plan:
    """Ask each fix, in order, for its changes: the fixes whose checks failed in ``report``."""
    from shine_ops.evaluators import Context

    findings = {f.check: f for f in report.findings}
    plan_id = uuid.uuid4().hex[:10]
    pc = PlanContext(ctx=Context(snapshot=report.snapshot, path=report.request_path, settings=settings),
                     findings=findings, plan_id=plan_id, **context)
    fixes: list[FixPlan] = []
    for spec in specs:
        if only and spec.id not in only:
            continue
        if not any(findings.get(c) is not None and findings[c].status == "fail" for c in spec.checks):
            continue
        fp = spec.plan(pc)
        if fp is not None:
            fixes.append(fp)
    return Plan(plan_id=plan_id, created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                tool_version=__version__, account=report.snapshot.account, region=report.snapshot.region,
                endpoint=endpoint, target=report.target, fixes=fixes)


class Applier:
    """Applies a fix plan through the change runner; ``rollback``, ``reconcile`` and ``read`` are the runner's."""

    def __init__(self, aws: Aws, journal: Journal, *, who: str | None = None,
                 say: Callable[[str], None] = lambda _m: None) -> None:
        self.aws, self.journal, self.who, self.say = aws, journal, who, say
        self.runner = ChangeRunner(aws, journal, who=who, say=say)

    @property
    def not_undone(self) -> list[str]:
        """Set by every rollback: applied changes AWS cannot undo (left as they are)."""
        return self.runner.not_undone

    # -- probes --------------------------------------------------------------------------------
    def read(self, probe: Probe | dict, results: dict | None = None) -> Any:
        return self.runner.read(probe, results)

    def drift(self, plan: Plan) -> list[str]:
        """Changes whose probed "before" value no longer holds (only probes that need no earlier result)."""
        out = []
        for ch in plan.changes:
            if ch.probe is None or "$ref" in str(ch.probe.call.params):
                continue
            live = self.read(ch.probe)
            if live != ch.probe.before:
                out.append(f"{ch.resource}: {ch.description}: expected {ch.probe.before!r}, found {live!r}")
        return out

    # -- apply ---------------------------------------------------------------------------------
    def apply(self, plan: Plan, verify: Callable[[FixPlan], dict[str, str]],
              gate: Callable[[FixPlan], str | None] | None = None) -> ApplyResult:
        drifted = self.drift(plan)
        if drifted:
            raise DriftError("the plan no longer matches the live state, nothing was changed: " + "; ".join(drifted),
                             hint="plan again")
        if not plan.changes:
            return ApplyResult(apply_id=ids.new_apply_id(ids.FIX, plan.plan_id), status="nothing")
        run = self.runner.begin(ids.FIX, tail=plan.plan_id, plan_id=plan.plan_id, plan_hash=plan.hash,
                                account=plan.account, region=plan.region, endpoint=plan.endpoint, target=plan.target)
        result = ApplyResult(apply_id=run.apply_id, status="nothing")
        for fp in plan.fixes:
            if fp.refused:
                result.notes.append(f"{fp.fix} not applied: {fp.refused}")
                continue
            if not fp.changes:  # only notes (what it leaves alone): nothing to apply or verify
                continue
            why = gate(fp) if gate else None
            if why:
                result.notes.append(f"{fp.fix} not applied: {why}")
                continue
            start = len(run.done)
            for ch in fp.changes:
                try:
                    done = run.do(ch)
                except Exception as exc:  # noqa: BLE001 - the runner journaled it: report and stop
                    failure = run.failure
                    if failure is not None and failure.landed is not None:
                        result.applied.append(failure.change_id)
                        if ch.results and ch.probe is not None and ch.probe.recover is not None:
                            result.notes.append(self.runner.recover(self.journal.change(failure.change_id),
                                                                    _asdict(ch.probe.recover)))
                    run.finish("failed", note=str(exc))
                    result.status = "failed"
                    result.notes.append(f"{ch.call.describe()} failed: {exc}. Applied so far: "
                                        f"{len(result.applied)} change(s); undo them with: "
                                        f"shine-ops rollback {run.apply_id}")
                    return result
                result.applied.append(done.change_id)
                self.say(f"  applied {done.change_id}: {ch.description}")
            made = run.done[start:]
            bad = run.verify(made, lambda fp=fp: verify(fp), ",".join(fp.verify))
            if bad:
                self.say(f"  {fp.fix} failed verification ({bad}); rolling it back")
                rb_id, problems = run.rollback(made, reason=f"{fp.fix} failed verification")
                failed_checks = ", ".join(f"{c}: {s}" for c, s in bad.items())
                if problems:
                    run.finish("failed", note=f"{fp.fix} failed verification and its rollback {rb_id} did not "
                                              f"restore: {problems}")
                    result.status = "failed"
                    result.notes.append(f"{fp.fix} failed verification ({failed_checks}) and its rollback {rb_id} "
                                        "did NOT fully restore: " + "; ".join(problems))
                    return result
                run.finish("rolled_back", note=f"{fp.fix} failed verification: {bad}")
                result.status = "rolled_back"
                result.notes.append(f"{fp.fix} failed verification ({failed_checks}) and was rolled back ({rb_id})")
                return result
            self.say(f"  verified {fp.fix}: {', '.join(fp.verify)} pass")
        run.finish("applied")
        result.status = "applied" if result.applied else "nothing"
        return result

    # -- rollback ------------------------------------------------------------------------------
    def rollback_changes(self, change_ids: list[str], reason: str = "rollback") -> tuple[str, list[str]]:
        """Undo these applied changes, newest first; returns (rollback apply id, problems)."""
        return self.runner.rollback(change_ids, reason=reason)

    def rollback(self, ident: str) -> tuple[str, list[str], int]:
        """Undo one change (its id) or a whole apply (its id). Returns (rollback id, problems, count)."""
        return self.runner.rollback_id(ident)

    def reconcile(self) -> list[str]:
        """Settle intents left by an interrupted run: probe the live state to say whether each call landed."""
        return self.runner.reconcile()


def _asdict(value: Any) -> dict:
    from dataclasses import asdict

    return asdict(value)
