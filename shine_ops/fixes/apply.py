"""Plan, apply, verify, journal, roll back.

- ``make_plan``: diagnose, then ask each fix (in order) for its changes; nothing is called that mutates.
- ``Applier.apply``: refuse a plan whose "before" values no longer hold (drift); journal each change as an
  intent, make the call, complete the row; verify each fix by collecting again and re-running its checks;
  a fix that fails verification is rolled back at once. A failed call stops the run and leaves the journal
  matching reality (``rollback APPLY_ID`` undoes what was applied).
- ``Applier.rollback``: replay the recorded inverses in reverse order, journaled too, then verify that each
  probe reads its "before" value again.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from shine_ops import __version__
from shine_ops.aws import Aws
from shine_ops.errors import AwsCallError, ShineOpsError
from shine_ops.fixes import ApiCall, Change, FixPlan, Plan, PlanContext, Probe, load_fixes, resolve_refs
from shine_ops.fixes.journal import Journal

FAULT_ENV = "SHINE_OPS_FAULT_AFTER_CHANGES"  # tests: fail the call after N applied changes
KILL_ENV = "SHINE_OPS_KILL_AFTER_CALL"  # tests: SIGKILL the process right after the Nth call, before its journal row


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


def _jmes(expr: str, data: Any) -> Any:
    import jmespath

    return jmespath.search(expr, data)


class Applier:
    def __init__(self, aws: Aws, journal: Journal, *, who: str | None = None,
                 say: Callable[[str], None] = lambda _m: None) -> None:
        self.aws, self.journal, self.who, self.say = aws, journal, who, say
        self.not_undone: list[str] = []  # set by rollback_changes: applied changes AWS cannot undo (left as they are)
        self.fault_after = int(os.environ.get(FAULT_ENV, "0") or 0)

    # -- probes --------------------------------------------------------------------------------
    def read(self, probe: Probe | dict, results: dict | None = None) -> Any:
        p = probe if isinstance(probe, Probe) else Probe(ApiCall(**probe["call"]), probe["path"], probe["before"])
        params = resolve_refs(p.call.params, results or {})
        try:
            resp = self.aws.call(p.call.service, p.call.operation, **params)
        except AwsCallError as err:
            if "NotFound" in err.code:
                return None
            raise
        return _jmes(p.path, resp)

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

    def landed(self, fp: FixPlan, results: dict) -> dict[str, str]:
        """The first half of verification: every change's probe now reads something other than its "before"
        (the configuration really changed). Keyed by change, "pass" or what the probe still reads."""
        out = {}
        for ch in fp.changes:
            if ch.probe is None:
                continue
            try:
                live = self.read(ch.probe, results)
            except (KeyError, AwsCallError):  # an unresolvable reference or a read that failed: checks decide
                continue
            out[f"{ch.key} landed"] = "pass" if live != ch.probe.before else f"still {live!r}"
        return out

    # -- apply ---------------------------------------------------------------------------------
    def apply(self, plan: Plan, verify: Callable[[FixPlan], dict[str, str]],
              gate: Callable[[FixPlan], str | None] | None = None) -> ApplyResult:
        drifted = self.drift(plan)
        if drifted:
            raise DriftError("the plan no longer matches the live state, nothing was changed: " + "; ".join(drifted),
                             hint="plan again")
        apply_id = f"a{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%d%H%M%S')}-{plan.plan_id[:6]}"
        result = ApplyResult(apply_id=apply_id, status="nothing")
        if not plan.changes:
            return result
        self.journal.start_apply(apply_id, plan_id=plan.plan_id, plan_hash=plan.hash, kind="fix", who=self.who,
                                 account=plan.account, region=plan.region, endpoint=plan.endpoint, target=plan.target)
        results: dict[str, dict[str, Any]] = {}
        seq = 0
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
            done: list[str] = []
            for ch in fp.changes:
                seq += 1
                change_id = f"{apply_id}-{seq:02d}"
                params = resolve_refs(ch.call.params, results)
                self.journal.intent(change_id, apply_id, seq, ch, asdict(ApiCall(ch.call.service, ch.call.operation, params)),
                                    [asdict(i) for i in ch.inverse])
                try:
                    if self.fault_after and len(result.applied) >= self.fault_after:
                        raise RuntimeError(f"fault injected after {self.fault_after} changes ({FAULT_ENV})")
                    resp = self.aws.call(ch.call.service, ch.call.operation, **params)
                except Exception as exc:  # noqa: BLE001 - journal first, then report
                    status = "failed"
                    if (ch.probe is not None and "$ref" not in str(ch.probe.call.params)
                            and (not ch.results or ch.probe.recover is not None)):
                        try:  # a retried call may have landed before it failed: the journal must say so
                            if self.read(ch.probe, results) != ch.probe.before:
                                status = "applied"
                                result.applied.append(change_id)
                        except Exception:  # noqa: BLE001 - cannot tell: leave it failed, the note says so
                            pass
                    self.journal.complete(change_id, status, error=f"{type(exc).__name__}: {exc}",
                                          inverse=[asdict(i) for i in ch.inverse] if status == "applied" else None)
                    if status == "applied" and ch.results and ch.probe is not None and ch.probe.recover is not None:
                        result.notes.append(self._recover(self.journal.change(change_id), asdict(ch.probe.recover)))
                    self.journal.finish_apply(apply_id, "failed", note=str(exc))
                    result.status = "failed"
                    result.notes.append(f"{ch.call.describe()} failed: {exc}. Applied so far: "
                                        f"{len(result.applied)} change(s); undo them with: shine-ops rollback {apply_id}")
                    return result
                if os.environ.get(KILL_ENV) == str(seq):  # tests: die like kill -9 between the call and the journal
                    os.kill(os.getpid(), 9)
                results[ch.key] = {name: _jmes(expr, resp) for name, expr in ch.results.items()}
                inverse = [asdict(ApiCall(i.service, i.operation, resolve_refs(i.params, results, keep_undo=True),
                                          i.results)) for i in ch.inverse]
                probe = None
                if ch.probe:
                    probe = {"call": asdict(ApiCall(ch.probe.call.service, ch.probe.call.operation,
                                                    resolve_refs(ch.probe.call.params, results))),
                             "path": ch.probe.path, "before": ch.probe.before}
                self.journal.complete(change_id, "applied", result=results[ch.key], inverse=inverse)
                if probe:
                    self.journal.set_probe(change_id, probe)
                done.append(change_id)
                result.applied.append(change_id)
                self.say(f"  applied {change_id}: {ch.description}")
            verdicts = self.landed(fp, results)
            verdicts.update(verify(fp))
            bad = {c: s for c, s in verdicts.items() if s != "pass"}
            if bad:
                self.say(f"  {fp.fix} failed verification ({bad}); rolling it back")
                rb_id, problems = self.rollback_changes(done, reason=f"{fp.fix} failed verification")
                failed_checks = ", ".join(f"{c}: {s}" for c, s in bad.items())
                if problems:
                    self.journal.finish_apply(apply_id, "failed", note=f"{fp.fix} failed verification and its "
                                                                       f"rollback {rb_id} did not restore: {problems}")
                    result.status = "failed"
                    result.notes.append(f"{fp.fix} failed verification ({failed_checks}) and its rollback {rb_id} "
                                        "did NOT fully restore: " + "; ".join(problems))
                    return result
                self.journal.finish_apply(apply_id, "rolled_back", note=f"{fp.fix} failed verification: {bad}")
                result.status = "rolled_back"
                result.notes.append(f"{fp.fix} failed verification ({failed_checks}) and was rolled back ({rb_id})")
                return result
            for cid in done:
                self.journal.set_status(cid, "verified", verification=",".join(fp.verify))
            self.say(f"  verified {fp.fix}: {', '.join(fp.verify)} pass")
        self.journal.finish_apply(apply_id, "applied")
        result.status = "applied" if result.applied else "nothing"
        return result

    # -- rollback ------------------------------------------------------------------------------
    def rollback_changes(self, change_ids: list[str], reason: str = "rollback") -> tuple[str, list[str]]:
        """Undo these applied changes, newest first; returns (rollback apply id, problems)."""
        import json

        rb_id = f"r{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
        rows = [self.journal.change(c) for c in change_ids]
        rows = [r for r in rows if r is not None and r["status"] in ("applied", "verified")]
        self.not_undone = [f"{r['change_id']} ({r['description']}): {r['undo_note'] or 'it has no inverse'}"
                           for r in rows if not json.loads(r["inverse"] or "[]")]
        rows = [r for r in rows if json.loads(r["inverse"] or "[]")]
        self.journal.start_apply(rb_id, plan_id="", plan_hash="", kind="rollback", who=self.who,
                                 account=None, region=self.aws.region, endpoint=self.aws.options.endpoint_url,
                                 target={"undoes": change_ids, "reason": reason})
        problems: list[str] = []
        seq = 0
        for row in sorted(rows, key=lambda r: (r["apply_id"], r["seq"]), reverse=True):
            made: dict[str, dict[str, Any]] = {}  # results of this change's earlier inverse calls (undo_ref)
            for n, call in enumerate(json.loads(row["inverse"] or "[]")):
                seq += 1
                cid = f"{rb_id}-{seq:02d}"
                try:
                    params = resolve_refs(call["params"], made)
                except KeyError as exc:  # an earlier inverse call of this change failed: this one cannot run
                    problems.append(f"undo of {row['change_id']} ({call['service']}.{call['operation']}) skipped: "
                                    f"{exc.args[0]}")
                    continue
                fake = Change(key=f"undo:{row['change_key']}", fix=row["fix"], resource=row["resource"],
                              description=f"undo {row['change_id']}: {row['description']}",
                              call=ApiCall(call["service"], call["operation"], params),
                              before=json.loads(row["after"] or "{}"), after=json.loads(row["before"] or "{}"))
                self.journal.intent(cid, rb_id, seq, fake, asdict(fake.call), [], undoes=row["change_id"])
                try:
                    resp = self.aws.call(call["service"], call["operation"], **params)
                except Exception as exc:  # noqa: BLE001
                    self.journal.complete(cid, "failed", error=f"{type(exc).__name__}: {exc}")
                    problems.append(f"undo of {row['change_id']} ({call['service']}.{call['operation']}) failed: {exc}")
                    continue
                made[f"undo#{n}"] = {name: _jmes(expr, resp) for name, expr in (call.get("results") or {}).items()}
                self.journal.complete(cid, "applied", result=made[f"undo#{n}"] or None)
            if not any(p.startswith(f"undo of {row['change_id']} ") for p in problems):
                self.journal.set_status(row["change_id"], "rolled_back")
                new_ids = [str(v) for d in made.values() for v in d.values() if v]
                if new_ids:  # a deleted resource recreated: the team needs its new id
                    self.say(f"  {row['change_id']}: recreated as {', '.join(new_ids)} (was {row['resource']})")
        for row in rows:  # verify: every probe reads its "before" again
            if row["probe"] and not problems:
                probe = json.loads(row["probe"])
                live = self.read(probe)
                if live != probe["before"]:
                    problems.append(f"{row['change_id']} ({row['description']}): expected {probe['before']!r} "
                                    f"after rollback, found {live!r}")
        status = "failed" if problems else ("restored" if rows else "nothing")
        self.journal.finish_apply(rb_id, status, note="; ".join(
            problems + [f"not undone: {x}" for x in self.not_undone]) or None)
        return rb_id, problems

    def rollback(self, ident: str) -> tuple[str, list[str], int]:
        """Undo one change (its id) or a whole apply (its id). Returns (rollback id, problems, count)."""
        from shine_ops.errors import UsageError

        row = self.journal.change(ident)
        apply_row = self.journal.apply_row(row["apply_id"] if row is not None else ident)
        if apply_row is not None and apply_row["kind"] == "rollback":
            raise UsageError(f"{ident} is a rollback; it cannot be rolled back",
                             hint="plan and apply the fix again instead")
        if row is not None:
            ids = [ident]
        elif self.journal.apply_row(ident) is not None:
            ids = [r["change_id"] for r in self.journal.changes(ident) if r["status"] in ("applied", "verified")]
        else:
            raise UsageError(f"no change or apply {ident!r} in the journal", hint="see shine-ops history")
        if not ids or all(self.journal.change(i)["status"] not in ("applied", "verified") for i in ids):
            raise UsageError(f"{ident} has nothing applied to roll back", hint="see shine-ops history")
        rb_id, problems = self.rollback_changes(ids)
        return rb_id, problems, len(ids)

    def reconcile(self) -> list[str]:
        """Settle intents left by an interrupted run: probe the live state to say whether each call landed."""
        import json

        notes = []
        for row in self.journal.open_intents():
            if not row["probe"]:
                self.journal.set_status(row["change_id"], "unknown")
                notes.append(f"{row['change_id']} was interrupted and cannot be checked: verify {row['resource']} by hand")
                continue
            probe = json.loads(row["probe"])
            try:
                live = self.read(probe)
            except AwsCallError as err:
                notes.append(f"{row['change_id']}: could not check ({err})")
                continue
            status = "not_applied" if live == probe["before"] else "applied"
            self.journal.set_status(row["change_id"], status, verification="reconciled")
            notes.append(f"{row['change_id']} was interrupted; the live state says it was {status.replace('_', ' ')}")
            if status == "applied" and probe.get("recover"):
                notes.append(self._recover(row, probe["recover"]))
        return notes

    def _recover(self, row: Any, recover: dict) -> str:
        """An interrupted create landed: find what it created and journal the inverse naming it."""
        import json

        known = {r["change_key"]: json.loads(r["result"]) for r in self.journal.changes(row["apply_id"])
                 if r["result"]}
        try:
            resp = self.aws.call(recover["service"], recover["operation"], **resolve_refs(recover["params"], known))
            found = {name: _jmes(expr, resp) for name, expr in (recover.get("results") or {}).items()}
            if not all(found.values()):
                raise KeyError(f"{recover['operation']} did not find it")
            inverse = resolve_refs(json.loads(row["inverse"] or "[]"), {**known, row["change_key"]: found},
                                   keep_undo=True)
        except (AwsCallError, KeyError) as exc:
            return (f"{row['change_id']}: what it created could not be identified ({exc}); "
                    f"remove {row['resource']} by hand if it is not wanted")
        self.journal.complete(row["change_id"], "applied", result=found, inverse=inverse)
        return f"{row['change_id']}: it created {', '.join(str(v) for v in found.values())}; rollback can remove it"
