"""Intent -> call -> complete, verification, and rollback by replaying journaled inverses.

Every strategy that changes an account goes through here, so a fix, a cleanup and both deploy strategies leave
the same journal: an ``intent`` row before the call (with the inverse known so far and the probe), the row
completed after it (``applied`` with its results and the inverse naming what the call created, or ``failed``),
``verified`` once the strategy's checks pass, ``rolled_back`` once its inverse replayed. ``rollback`` is itself
journaled as an apply of kind ``rollback`` whose changes name what they undo.

Changes may name results of earlier changes of the same run with ``{"$ref": "<change key>.<name>"}``
(``shine_ops.fixes.resolve_refs``): a target group created by one change, used by the next and deleted by
its inverse.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from shine_ops.changes import ids
from shine_ops.changes.refs import Done, FailedCall
from shine_ops.errors import AwsCallError
from shine_ops.fixes import ApiCall, Change, Probe, resolve_refs


def jmes(expr: str, data: Any) -> Any:
    import jmespath

    return jmespath.search(expr, data)


def _probe_of(probe: Probe | dict) -> Probe:
    if isinstance(probe, Probe):
        return probe
    return Probe(ApiCall(**probe["call"]), probe["path"], probe["before"])


class ChangeRunner:
    """Makes changes for one identity against one account, journaled in ``journal``.

    ``faults`` are the test hooks of ``shine_ops.faults`` (switched on from the environment); ``not_undone`` is
    set by every rollback: the applied changes AWS cannot undo, left as they are."""

    def __init__(self, aws: Any, journal: Any, *, who: str | None = None,
                 say: Callable[[str], None] = lambda _m: None, faults: Any = None) -> None:
        from shine_ops.faults import change_faults

        self.aws, self.journal, self.who, self.say = aws, journal, who, say
        self.faults = faults if faults is not None else change_faults()
        self.not_undone: list[str] = []

    # -- reading -------------------------------------------------------------------------------
    def read(self, probe: Probe | dict, results: dict | None = None) -> Any:
        """The live value a probe reads (``None`` when the resource is gone)."""
        p = _probe_of(probe)
        params = resolve_refs(p.call.params, results or {})
        try:
            resp = self.aws.call(p.call.service, p.call.operation, **params)
        except AwsCallError as err:
            if "NotFound" in err.code:
                return None
            raise
        return jmes(p.path, resp)

    # -- applying ------------------------------------------------------------------------------
    def begin(self, kind: str, *, target: dict, tail: str | None = None, plan_id: str = "", plan_hash: str = "",
              account: str | None = None, region: str | None = None, endpoint: str | None = None) -> "Run":
        """Open an apply (``ids.FIX`` or ``ids.DEPLOY``): its journal row, then changes with ``Run.do``."""
        apply_id = ids.new_apply_id(kind, tail)
        self.journal.start_apply(apply_id, plan_id=plan_id, plan_hash=plan_hash, kind=ids.KINDS[kind], who=self.who,
                                 account=account, region=region or self.aws.region,
                                 endpoint=endpoint if endpoint is not None else self.aws.options.endpoint_url,
                                 target=target)
        return Run(self, apply_id)

    # -- rollback ------------------------------------------------------------------------------
    def rollback(self, change_ids: list[str], *, reason: str = "rollback", undoes: list[str] | None = None,
                 cover: Callable[[Any], str | None] | None = None) -> tuple[str, list[str]]:
        """Undo these applied changes by replaying their journaled inverses; returns (rollback id, problems).

        Order: the steps newest first; the changes of one step (several rows with the same key in one apply,
        such as one weight shift across every listener) in the order they were made. ``cover`` gives changes a
        key: among rows with the same key only the oldest one's inverse is replayed, and it undoes the newer
        ones too (it restores the resource as it was before all of them: the first listener actions of a
        blue-green deploy put traffic back at once, deleting a created service undoes its later updates).
        Then every replayed change's probe must read its "before" again."""
        rb_id = ids.new_apply_id(ids.ROLLBACK)
        rows = [self.journal.change(c) for c in change_ids]
        rows = [r for r in rows if r is not None and r["status"] in ("applied", "verified")]
        self.not_undone = [f"{r['change_id']} ({r['description']}): {r['undo_note'] or 'it has no inverse'}"
                           for r in rows if not json.loads(r["inverse"] or "[]")]
        rows = [r for r in rows if json.loads(r["inverse"] or "[]")]
        covered: dict[str, list[Any]] = {}  # change id replayed -> the newer rows it undoes as well
        if cover is not None:
            first: dict[str, Any] = {}
            for r in sorted(rows, key=lambda r: (r["apply_id"], r["seq"])):
                key = cover(r)
                if key is not None and key in first:
                    covered[first[key]["change_id"]].append(r)
                    continue
                if key is not None:
                    first[key] = r
                covered[r["change_id"]] = []
            rows = [r for r in rows if r["change_id"] in covered]
        self.journal.start_apply(rb_id, plan_id="", plan_hash="", kind="rollback", who=self.who, account=None,
                                 region=self.aws.region, endpoint=self.aws.options.endpoint_url,
                                 target={"undoes": undoes if undoes is not None else change_ids, "reason": reason})
        problems: list[str] = []
        seq = 0
        for row in _undo_order(rows):
            made: dict[str, dict[str, Any]] = {}  # results of this change's earlier inverse calls (undo_ref)
            for n, call in enumerate(json.loads(row["inverse"] or "[]")):
                seq += 1
                cid = ids.change_id(rb_id, seq)
                try:
                    params = resolve_refs(call["params"], made)
                except KeyError as exc:  # an earlier inverse call of this change failed: this one cannot run
                    problems.append(f"undo of {row['change_id']} ({call['service']}.{call['operation']}) skipped: "
                                    f"{exc.args[0]}")
                    continue
                undo = Change(key=f"undo:{row['change_key']}", fix=row["fix"], resource=row["resource"],
                              description=f"undo {row['change_id']}: {row['description']}",
                              call=ApiCall(call["service"], call["operation"], params),
                              before=json.loads(row["after"] or "{}"), after=json.loads(row["before"] or "{}"))
                self.journal.intent(cid, rb_id, seq, undo, asdict(undo.call), [], undoes=row["change_id"])
                try:
                    resp = self.aws.call(call["service"], call["operation"], **params)
                except Exception as exc:  # noqa: BLE001 - journal it, report it, keep undoing the rest
                    self.journal.complete(cid, "failed", error=f"{type(exc).__name__}: {exc}")
                    problems.append(f"undo of {row['change_id']} ({call['service']}.{call['operation']}) failed: {exc}")
                    continue
                made[f"undo#{n}"] = {name: jmes(expr, resp) for name, expr in (call.get("results") or {}).items()}
                self.journal.complete(cid, "applied", result=made[f"undo#{n}"] or None)
            if not any(p.startswith(f"undo of {row['change_id']} ") for p in problems):
                for done in [row, *covered.get(row["change_id"], [])]:
                    self.journal.set_status(done["change_id"], "rolled_back")
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

    def rollback_id(self, ident: str) -> tuple[str, list[str], int]:
        """``shine-ops rollback``: undo one change (its id) or a whole apply (its id).
        Returns (rollback id, problems, how many changes it undoes)."""
        from shine_ops.errors import UsageError

        row = self.journal.change(ident)
        apply_row = self.journal.apply_row(row["apply_id"] if row is not None else ident)
        if apply_row is not None and apply_row["kind"] == "rollback":
            raise UsageError(f"{ident} is a rollback; it cannot be rolled back",
                             hint="plan and apply the fix again instead")
        if row is not None:
            change_ids = [ident]
        elif self.journal.apply_row(ident) is not None:
            change_ids = [r["change_id"] for r in self.journal.changes(ident) if r["status"] in ("applied", "verified")]
        else:
            raise UsageError(f"no change or apply {ident!r} in the journal", hint="see shine-ops history")
        if not change_ids or all(self.journal.change(i)["status"] not in ("applied", "verified") for i in change_ids):
            raise UsageError(f"{ident} has nothing applied to roll back", hint="see shine-ops history")
        rb_id, problems = self.rollback(change_ids)
        return rb_id, problems, len(change_ids)

    # -- interrupted runs ----------------------------------------------------------------------
    def reconcile(self) -> list[str]:
        """Settle intents left by an interrupted run: probe the live state to say whether each call landed."""
        notes = []
        for row in self.journal.open_intents():
            if not row["probe"]:
                self.journal.set_status(row["change_id"], "unknown")
                notes.append(f"{row['change_id']} was interrupted and cannot be checked: "
                             f"verify {row['resource']} by hand")
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
                notes.append(self.recover(row, probe["recover"]))
        return notes

    def recover(self, row: Any, recover: dict) -> str:
        """An interrupted create landed: find what it created and journal the inverse naming it."""
        known = {r["change_key"]: json.loads(r["result"]) for r in self.journal.changes(row["apply_id"])
                 if r["result"]}
        try:
            resp = self.aws.call(recover["service"], recover["operation"], **resolve_refs(recover["params"], known))
            found = {name: jmes(expr, resp) for name, expr in (recover.get("results") or {}).items()}
            if not all(found.values()):
                raise KeyError(f"{recover['operation']} did not find it")
            inverse = resolve_refs(json.loads(row["inverse"] or "[]"), {**known, row["change_key"]: found},
                                   keep_undo=True)
        except (AwsCallError, KeyError) as exc:
            return (f"{row['change_id']}: what it created could not be identified ({exc}); "
                    f"remove {row['resource']} by hand if it is not wanted")
        self.journal.complete(row["change_id"], "applied", result=found, inverse=inverse)
        return f"{row['change_id']}: it created {', '.join(str(v) for v in found.values())}; rollback can remove it"


def _undo_order(rows: list[Any]) -> list[Any]:
    """Steps newest first; within a step (same apply, same change key) the order the calls were made."""
    steps: dict[tuple[str, str], list[Any]] = {}
    for r in sorted(rows, key=lambda r: (r["apply_id"], r["seq"])):
        steps.setdefault((r["apply_id"], r["change_key"]), []).append(r)
    ordered = sorted(steps.values(), key=lambda step: (step[-1]["apply_id"], step[-1]["seq"]), reverse=True)
    return [r for step in ordered for r in step]


@dataclass
class Run:
    """One open apply: ``do`` each change, ``verify`` what was done, ``finish`` with the apply's status."""

    runner: ChangeRunner
    apply_id: str
    seq: int = 0
    done: list[Done] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # change key -> its named results
    failure: FailedCall | None = None

    @property
    def journal(self) -> Any:
        return self.runner.journal

    def do(self, change: Change, *, undoes: str | None = None) -> Done:
        """Journal the intent, make the call, complete the row; the exception of a failed call is re-raised
        after its row says ``failed`` (or ``applied``, when the probe shows it landed anyway: ``failure``)."""
        runner = self.runner
        self.seq += 1
        cid = ids.change_id(self.apply_id, self.seq)
        params = resolve_refs(change.call.params, self.results)
        runner.journal.intent(cid, self.apply_id, self.seq, change,
                              asdict(ApiCall(change.call.service, change.call.operation, params)),
                              [asdict(i) for i in change.inverse], undoes=undoes)
        try:
            runner.faults.before_call(len(self.done))
            resp = runner.aws.call(change.call.service, change.call.operation, **params)
        except Exception as exc:  # noqa: BLE001 - journal first, then re-raise
            self._failed(cid, change, exc)
            raise
        runner.faults.after_call(self.seq)
        named = {name: jmes(expr, resp) for name, expr in change.results.items()}
        self.results[change.key] = named
        inverse = [asdict(ApiCall(i.service, i.operation, resolve_refs(i.params, self.results, keep_undo=True),
                                  i.results)) for i in change.inverse]
        probe = None
        if change.probe:
            probe = {"call": asdict(ApiCall(change.probe.call.service, change.probe.call.operation,
                                            resolve_refs(change.probe.call.params, self.results))),
                     "path": change.probe.path, "before": change.probe.before}
        runner.journal.complete(cid, "applied", result=named or None, inverse=inverse)
        if probe:
            runner.journal.set_probe(cid, probe)
        done = Done(cid, change.key, change.resource, named, probe)
        self.done.append(done)
        return done

    def _failed(self, cid: str, change: Change, exc: Exception) -> None:
        runner = self.runner
        landed = None
        if (change.probe is not None and "$ref" not in str(change.probe.call.params)
                and (not change.results or change.probe.recover is not None)):
            try:  # a retried call may have landed before it failed: the journal must say so
                if runner.read(change.probe, self.results) != change.probe.before:
                    landed = Done(cid, change.key, change.resource)
            except Exception:  # noqa: BLE001 - cannot tell: leave it failed, the note says so
                pass
        runner.journal.complete(cid, "applied" if landed else "failed", error=f"{type(exc).__name__}: {exc}",
                                inverse=[asdict(i) for i in change.inverse] if landed else None)
        self.failure = FailedCall(cid, change.call.describe(), exc, landed)
        if landed is not None:
            self.done.append(landed)

    def landed(self, done: list[Done]) -> dict[str, str]:
        """The first half of verification: every change's probe now reads something other than its "before"
        (the configuration really changed). Keyed by change, "pass" or what the probe still reads."""
        out = {}
        for d in done:
            if d.probe is None:
                continue
            try:
                live = self.runner.read(d.probe)
            except AwsCallError:  # a read that failed: the strategy's checks decide
                continue
            out[f"{d.key} landed"] = "pass" if live != d.probe["before"] else f"still {live!r}"
        return out

    def verify(self, done: list[Done], check: Callable[[], dict[str, str]], label: str) -> dict[str, str]:
        """The verification hook: the changes landed and the strategy's ``check`` passes (check -> "pass" or
        what it saw). Returns what did not pass; when nothing, the rows are marked ``verified`` by ``label``."""
        verdicts = self.landed(done)
        verdicts.update(check())
        bad = {c: s for c, s in verdicts.items() if s != "pass"}
        if not bad:
            for d in done:
                self.journal.set_status(d.change_id, "verified", verification=label)
        return bad

    def rollback(self, done: list[Done], reason: str, *, whole: bool = False,
                 cover: Callable[[Any], str | None] | None = None) -> tuple[str, list[str]]:
        """Undo these changes of this run (a failed verification or gate, an abort). ``whole``: the rollback
        journal names this apply as what it undoes (a deploy undone as one), else the changes."""
        return self.runner.rollback([d.change_id for d in done], reason=reason,
                                    undoes=[self.apply_id] if whole else None, cover=cover)

    def finish(self, status: str, note: str | None = None) -> None:
        self.journal.finish_apply(self.apply_id, status, note=note)
