"""``shine-ops watch``: the path recovering round by round, the live-view bookkeeping, and its exits.

The end-to-end tests drive ``watch`` without a terminal (line mode) against the sandbox's scenarios seeded into
a plain moto server, with the sandbox's health convergence scaled down (30 s x 5 -> 3 s), while ``fix`` runs
in other processes.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import pytest

from tests.conftest import assert_no_traceback, clean_env, ctrl_c_as_a_terminal_sends_it
from tests.e2e.conftest import moto_server, scenario_server  # noqa: F401  (shared fixtures)

DOMAIN = "api.shineskincollective.com"


# --------------------------------------------------------------------------- the bookkeeping (pure)
@dataclass
class _F:
    check: str
    status: str
    hop: str
    severity: str = "high"
    summary: str = ""
    suppressed: dict | None = None


@dataclass
class _Report:
    findings: list
    path: list = field(default_factory=list)

    def failing_at_or_above(self, threshold: str) -> list:
        from shine_ops.engine.finding import severity_at_least

        return [f for f in self.findings if f.status == "fail" and not f.suppressed
                and severity_at_least(f.severity, threshold)]


def _report(**statuses: str) -> _Report:
    hops = {"sg": "network", "tg": "targets", "dns": "dns", "low": "dns"}
    return _Report([_F(c, s, hops[c], severity="low" if c == "low" else "high") for c, s in statuses.items()])


def test_watch_keeps_each_hops_state_since_when_and_what_changed():
    from shine_ops.watch import Watch

    w = Watch(fail_on="high", started=1000.0)
    first = w.observe(_report(sg="fail", tg="fail", dns="pass"), now=1000.0)
    assert {(c.kind, c.name, c.before, c.after) for c in first if c.kind == "hop"} == {
        ("hop", "network", None, "fail"), ("hop", "targets", None, "fail"), ("hop", "dns", None, "pass")}
    assert not w.green and [f.check for f in w.failing] == ["sg", "tg"]

    assert w.observe(_report(sg="fail", tg="fail", dns="pass"), now=1005.0) == []  # nothing changed
    assert w.hops["network"].held_s(1005.0) == 5.0

    changed = w.observe(_report(sg="pass", tg="fail", dns="pass"), now=1012.0)
    assert [(c.kind, c.name, c.before, c.after, c.held_s) for c in changed] == [
        ("hop", "network", "fail", "pass", 12.0), ("check", "sg", "fail", "pass", 12.0)]
    assert "network (SG, NACL)" in changed[0].line(1000.0) and "was fail for 12 s" in changed[0].line(1000.0)
    assert w.hops["targets"].since == 1000.0  # still failing: its age keeps counting from the first round

    w.observe(_report(sg="pass", tg="pass", dns="pass", low="fail"), now=1020.0)
    assert w.green  # a low-severity failure is below --fail-on high
    assert w.still_failing() == []


def test_run_watch_ends_green_at_timeout_or_after_rounds_that_cannot_complete():
    from shine_ops.errors import EndpointUnreachable
    from shine_ops.watch import MAX_FAILED_ROUNDS, Watch, run_watch

    clock = [0.0]

    def sleep(s: float) -> None:
        clock[0] += s

    reports = iter([_report(sg="fail"), _report(sg="fail"), _report(sg="pass")])
    end = run_watch(lambda: next(reports), Watch(), interval_s=2, until_green=True, timeout_s=60,
                    on_round=lambda w, c: None, clock=lambda: clock[0], sleep=sleep)
    assert (end.reason, end.exit_code, end.elapsed_s) == ("green", 0, 4.0)

    clock[0] = 0.0
    end = run_watch(lambda: _report(sg="fail", tg="pass"), Watch(), interval_s=2, until_green=True, timeout_s=5,
                    on_round=lambda w, c: None, clock=lambda: clock[0], sleep=sleep)
    assert (end.reason, end.exit_code) == ("timeout", 1)
    assert end.still_failing == ["sg (high): "]

    calls = {"n": 0}
    errors: list[int] = []

    def flaky():
        calls["n"] += 1
        if calls["n"] == 1:
            return _report(sg="fail")
        raise EndpointUnreachable("cannot reach the endpoint")

    with pytest.raises(EndpointUnreachable):
        run_watch(flaky, Watch(), interval_s=1, until_green=True, timeout_s=None, on_round=lambda w, c: None,
                  on_error=lambda e, n: errors.append(n), clock=lambda: clock[0], sleep=sleep)
    assert errors == list(range(1, MAX_FAILED_ROUNDS))  # reported, retried, then the watch gives up (exit 3)


def test_bad_watch_options_are_usage_errors(cli):
    for args, words in ((["--interval", "0"], "--interval must be positive"),
                        (["--format", "xml"], "--format must be one of text, json"),
                        (["--fail-on", "urgent"], "--fail-on must be one of"),
                        (["--timeout", "-1"], "--timeout must be positive")):
        proc = cli("watch", "--domain", DOMAIN, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert words in proc.stderr
        assert_no_traceback(proc)


# --------------------------------------------------------------------------- end to end, line mode
class _Watching:
    """``shine-ops watch`` in the background, its stdout collected line by line as it comes."""

    def __init__(self, cli, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "shine_ops", "watch", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=clean_env(cli.state_dir),
                                     cwd=str(cli.cwd), preexec_fn=ctrl_c_as_a_terminal_sends_it)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 40) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                m = re.search(pattern, line)
                if m:
                    return m
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.2)
        raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(self.lines)
                             + f"\nstderr: {self.stderr()}")

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def stderr(self) -> str:
        return self.proc.stderr.read() if self.proc.poll() is not None else ""  # type: ignore[union-attr]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _round_of(m: re.Match) -> int:
    return int(re.search(r"round (\d+)", m.string).group(1))  # type: ignore[union-attr]


def _target(endpoint: str) -> list[str]:
    return ["--endpoint-url", endpoint, "--region", "us-east-1", "--domain", DOMAIN, "--no-probe"]


@pytest.mark.slow
def test_watch_until_green_shows_the_incident_recover_link_by_link_while_fix_runs(cli, scenario_server,
                                                                                  monkeypatch):
    monkeypatch.setenv("SHINE_OPS_SANDBOX_HEALTH_SCALE", "0.02")  # targets converge in 30 s x 5 x 0.02 = 3 s
    endpoint = scenario_server("shine-incident")
    w = _Watching(cli, *_target(endpoint), "--interval", "1", "--until-green", "--timeout", "120")
    try:
        w.wait_for(r"round 1 .*check\(s\) failing at or above high")
        for hop in ("DNS record", "listener and rules", "network \\(SG, NACL\\)"):
            w.wait_for(rf"round 1 +{hop} +fail$")
        w.wait_for(r"check tg.targets-healthy +fail: .*Target.Timeout")

        fix = cli("fix", "alb-ecs", *_target(endpoint)[:-1], "--only", "sg.allow-alb-to-task", "--apply", "--yes")
        assert fix.returncode == 0, fix.stdout + fix.stderr
        network = w.wait_for(r"network \(SG, NACL\) +fail -> pass")
        # the security group is right at once; the targets turn healthy only after the health checks converge
        targets = w.wait_for(r"check tg.targets-healthy +fail -> pass")
        assert _round_of(targets) > _round_of(network)
        assert not any(re.search(r"(DNS record|listener and rules) +fail -> pass", l) for l in w.lines)

        fix = cli("fix", "alb-ecs", *_target(endpoint)[:-1], "--apply", "--yes")
        assert fix.returncode == 0, fix.stdout + fix.stderr
        dns = w.wait_for(r"DNS record +fail -> pass")
        listener = w.wait_for(r"listener and rules +fail -> pass")
        w.wait_for(r"^green after \d+ s: no check fails at or above high$")
        assert w.finish() == 0
    finally:
        w.kill()
    assert len({_round_of(network), _round_of(targets), max(_round_of(dns), _round_of(listener))}) == 3
    assert "Traceback" not in w.stderr()


@pytest.mark.slow
def test_watch_timeout_exits_1_naming_what_still_fails_and_ctrl_c_ends_json_lines_cleanly(cli, scenario_server):
    endpoint = scenario_server("tg.targets-healthy")
    started = time.monotonic()
    proc = cli("watch", *_target(endpoint), "--interval", "1", "--until-green", "--timeout", "3")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    assert time.monotonic() - started < 30
    tail = proc.stdout[proc.stdout.index("timeout after"):]
    assert "still failing at or above high" in tail
    assert "sg.alb-to-task-ingress (critical)" in tail and "tg.targets-healthy (high)" in tail

    w = _Watching(cli, *_target(endpoint), "--interval", "1", "--format", "json")
    try:
        w.wait_for(r'^\{"event": "round", "round": 1,')
        w.proc.send_signal(signal.SIGINT)  # Ctrl-C: a clean end, no traceback
        assert w.finish(timeout=30) == 130
    finally:
        w.kill()
    events = [json.loads(line) for line in w.lines]  # every line is one JSON object
    assert events[0]["event"] == "start" and events[-1]["event"] == "end"
    assert events[-1]["reason"] == "interrupted" and not events[-1]["green"]
    assert {"sg.alb-to-task-ingress", "tg.targets-healthy"} <= set(events[-1]["failing"])
    states = {(e["kind"], e["name"]): e["to"] for e in events if e["event"] == "state"}
    assert states[("hop", "network")] == "fail" and states[("check", "dns.points-to-service-alb")] == "pass"
    assert "Traceback" not in w.stderr()
