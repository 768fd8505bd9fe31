"""``shine-ops watch``: diagnose again and again, and remember what each hop and check showed and since when.

During an incident people want to see the path recover: after a fix, AWS turns targets healthy only after
``interval x healthy threshold`` (docs/aws-behaviour.md section 4), so one diagnose right after a fix says little. This
module keeps, per hop and per check, the state, since when it has held and what changed since the last round;
``shine_ops.cli.watch_cmd`` draws it (a live view on a terminal, else one line or JSON object per change).

Pure bookkeeping around ``shine_ops.engine.runner.run``: the rounds call it through a function the caller gives,
so this module never talks to AWS itself and can be tested with made-up reports.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from shine_ops.engine.runner import HOP_ORDER

HOP_TITLES = {"dns": "DNS record", "load_balancer": "load balancer", "listener": "listener and rules",
              "target_group": "target group", "targets": "targets", "service": "ECS service",
              "task_definition": "task definition", "network": "network (SG, NACL)", "app": "app (live probes)",
              "account": "account"}
# Worst first: a hop shows the worst status among its checks.
_WORST = ("fail", "error", "warn", "pass", "skip")
MAX_FAILED_ROUNDS = 3  # rounds in a row that could not complete before watch gives up (exit 3)


@dataclass
class State:
    """What one hop or one check showed, and since when (the first round that saw it, if it never changed)."""

    kind: str  # "hop" or "check"
    name: str
    status: str
    since: float  # wall-clock seconds (time.time())
    severity: str | None = None
    summary: str = ""
    resource: str = ""  # hops: the resources on the path at that hop
    failing: list[str] = field(default_factory=list)  # hops: the checks that fail there

    def held_s(self, now: float) -> float:
        return max(0.0, now - self.since)


@dataclass
class Change:
    """One hop or check whose state differs from the previous round (``before`` None: first seen)."""

    round: int
    at: float
    kind: str
    name: str
    before: str | None
    after: str
    held_s: float | None  # how long ``before`` had held
    severity: str | None = None
    summary: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"event": "change" if self.before is not None else "state", "round": self.round,
                "at": _iso(self.at), "kind": self.kind, "name": self.name, "from": self.before, "to": self.after,
                "held_s": None if self.held_s is None else round(self.held_s, 1), "severity": self.severity,
                "summary": self.summary}

    def line(self, started: float) -> str:
        """One line a person reads in a log: when, what, from what to what, how long the old state held."""
        label = HOP_TITLES.get(self.name, self.name) if self.kind == "hop" else f"  check {self.name}"
        head = f"[+{self.at - started:4.0f}s] round {self.round:<3} {label:34}"
        if self.before is None:
            text = f"{head} {self.after}"
        else:
            text = f"{head} {self.before} -> {self.after} (was {self.before} for {_duration(self.held_s or 0)})"
        return text + (f": {self.summary}" if self.kind == "check" and self.summary else "")


@dataclass
class Watch:
    """Every hop's and check's state over the rounds; ``observe`` takes one report and returns what changed."""

    fail_on: str = "high"
    started: float = field(default_factory=time.time)
    rounds: int = 0
    hops: dict[str, State] = field(default_factory=dict)
    checks: dict[str, State] = field(default_factory=dict)
    failing: list[Any] = field(default_factory=list)  # findings failing at or above fail_on in the last round
    last_changes: list[Change] = field(default_factory=list)
    report: Any = None

    @property
    def green(self) -> bool:
        """No check fails at or above ``--fail-on`` (suppressed ones never count), as ``diagnose`` exits 0."""
        return self.rounds > 0 and not self.failing

    def observe(self, report: Any, now: float | None = None) -> list[Change]:
        now = time.time() if now is None else now
        self.rounds += 1
        self.report = report
        self.failing = report.failing_at_or_above(self.fail_on)
        changes: list[Change] = []
        for hop, (status, failing) in hop_states(report).items():
            changes += self._note(self.hops, "hop", hop, status, now, resource=_hop_resource(report, hop),
                                  failing=failing)
        for f in report.findings:
            changes += self._note(self.checks, "check", f.check, f.status, now, severity=f.severity,
                                  summary=f.summary)
        self.last_changes = changes
        return changes

    def _note(self, table: dict[str, State], kind: str, name: str, status: str, now: float,
              **details: Any) -> list[Change]:
        old = table.get(name)
        if old is not None and old.status == status:
            for k, v in details.items():  # same state: keep its age, refresh what it says
                setattr(old, k, v)
            return []
        table[name] = State(kind=kind, name=name, status=status, since=now, **details)
        return [Change(round=self.rounds, at=now, kind=kind, name=name, before=old.status if old else None,
                       after=status, held_s=old.held_s(now) if old else None, severity=details.get("severity"),
                       summary=details.get("summary", ""))]

    def still_failing(self) -> list[str]:
        """``check (severity): summary`` for every check failing at or above ``--fail-on``."""
        return [f"{f.check} ({f.severity}): {f.summary}" for f in self.failing]


def hop_states(report: Any) -> dict[str, tuple[str, list[str]]]:
    """hop -> (worst status of its checks, the checks failing there), in request-path order."""
    by_hop: dict[str, list[Any]] = {}
    for f in report.findings:
        by_hop.setdefault(f.hop or "other", []).append(f)
    order = {h: i for i, h in enumerate(HOP_ORDER)}
    out = {}
    for hop in sorted(by_hop, key=lambda h: order.get(h, len(order))):
        sts = {f.status for f in by_hop[hop]}
        out[hop] = (next(s for s in _WORST if s in sts), [f.check for f in by_hop[hop] if f.status == "fail"])
    return out


def _hop_resource(report: Any, hop: str) -> str:
    key = {"targets": "target_group", "app": "dns"}.get(hop, hop)
    return ", ".join(h["resource"] for h in (report.path or []) if h.get("hop") == key)


# --------------------------------------------------------------------------- the loop
@dataclass
class Ending:
    """How a watch ended: ``green`` (exit 0), ``timeout`` (exit 1 when something still fails, else 0)."""

    reason: str
    exit_code: int
    elapsed_s: float
    still_failing: list[str]


def run_watch(diagnose: Callable[[], Any], watch: Watch, *, interval_s: float, until_green: bool,
              timeout_s: float | None, on_round: Callable[[Watch, list[Change]], None],
              on_error: Callable[[Exception, int], None] = lambda _e, _n: None,
              on_wait: Callable[[float], None] | None = None,
              clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> Ending:
    """Diagnose every ``interval_s`` until green (with ``until_green``) or ``timeout_s``; forever otherwise.

    A round that could not complete (``RunIncomplete``: the endpoint went away, a call was denied) is reported
    through ``on_error`` and retried next round; the first round, or ``MAX_FAILED_ROUNDS`` in a row, end the watch
    with that error (exit 3). ``on_wait(seconds_left)`` is called about once a second between rounds, so a live
    view can refresh how long each state has held."""
    from shine_ops.errors import RunIncomplete

    start = clock()
    deadline = None if timeout_s is None else start + timeout_s
    failed_in_a_row = 0
    while True:
        round_start = clock()
        try:
            report = diagnose()
        except RunIncomplete as exc:
            failed_in_a_row += 1
            if watch.rounds == 0 or failed_in_a_row >= MAX_FAILED_ROUNDS:
                raise
            on_error(exc, failed_in_a_row)
        else:
            failed_in_a_row = 0
            on_round(watch, watch.observe(report))
            if until_green and watch.green:
                return Ending("green", 0, clock() - start, [])
        now = clock()
        if deadline is not None and now >= deadline:
            return Ending("timeout", 1 if watch.failing or not watch.rounds else 0, now - start,
                           watch.still_failing())
        next_round = round_start + interval_s
        if deadline is not None:
            next_round = min(next_round, deadline)
        while (left := next_round - clock()) > 0:
            if on_wait is not None:
                on_wait(left)
            sleep(min(left, 1.0))


# --------------------------------------------------------------------------- live probes, as diagnose runs them
def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds")


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


duration = _duration  # for the live view
