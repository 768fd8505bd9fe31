"""``shine-ops watch``: diagnose on an interval and show each hop's state live, how long it has held, what changed.

The bookkeeping and the loop live in ``shine_ops.watch``; this module wires the options, the account and the
three ways of showing it: a rich live view on a terminal, one line per change without one, JSON lines.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, List, Optional

import typer

from shine_ops.cli import app
from shine_ops.cli.common import (ClusterOpt, ConfigOpt, DomainOpt, EndpointOpt, ProfileOpt, RegionOpt, SandboxOpt,
                                  ServiceOpt, checks_dirs, choice, connect, guarded, say, settings_from, target_from)

WATCH_FORMATS = ("text", "json")


@app.command()
@guarded
def watch(
    domain: Optional[str] = DomainOpt,
    cluster: Optional[str] = ClusterOpt,
    service: Optional[str] = ServiceOpt,
    playbook: str = typer.Option("snail-trail", "--playbook", metavar="NAME|FILE", help="Playbook name or YAML file."),
    interval: float = typer.Option(10.0, "--interval", metavar="SECONDS", help="Seconds between two diagnoses."),
    until_green: bool = typer.Option(False, "--until-green",
                                     help="Exit 0 as soon as no check fails at or above --fail-on."),
    timeout: Optional[float] = typer.Option(None, "--timeout", metavar="SECONDS",
                                            help="Stop after this many seconds: exit 1, naming what still fails."),
    fail_on: str = typer.Option("high", "--fail-on", metavar="SEVERITY",
                                help="What counts as failing: a check failing at or above this severity."),
    fmt: str = typer.Option("text", "--format", metavar="text|json",
                            help="text (a live view on a terminal, else one line per change) or json (one object "
                                 "per line)."),
    no_probe: bool = typer.Option(False, "--no-probe", help="Skip live DNS/HTTP probes."),
    probe_timeout: float = typer.Option(10.0, "--probe-timeout", metavar="SECONDS",
                                        help="Time budget of each round's probes."),
    checks_dir: Optional[List[str]] = typer.Option(None, "--checks-dir", metavar="DIR",
                                                   help="Extra folder of checks/playbooks."),
    config: Optional[str] = ConfigOpt,
    profile: Optional[str] = ProfileOpt,
    region: Optional[str] = RegionOpt,
    endpoint_url: Optional[str] = EndpointOpt,
    sandbox: bool = SandboxOpt,
) -> None:
    """Diagnose every --interval seconds and show each hop's state, how long it has held and what changed."""
    from shine_ops.config import load_config
    from shine_ops.engine.finding import SEVERITIES
    from shine_ops.engine.runner import load_catalogue, run
    from shine_ops.errors import UsageError
    from shine_ops.probes.live import live_probes
    from shine_ops.watch import Watch, run_watch

    choice(fmt, WATCH_FORMATS, "--format")
    choice(fail_on, SEVERITIES, "--fail-on")
    if not interval > 0:
        raise UsageError(f"--interval must be positive, not {interval:g}")
    if timeout is not None and not timeout > 0:
        raise UsageError(f"--timeout must be positive, not {timeout:g}")
    if not probe_timeout > 0:
        raise UsageError("--probe-timeout must be positive")
    cfg = load_config(config)
    catalogue = load_catalogue(checks_dirs(checks_dir, cfg))
    pb = catalogue.load_playbook(playbook)
    aws, st = connect(profile=profile, region=region, endpoint_url=endpoint_url, sandbox=sandbox, config=cfg)
    settings = settings_from(cfg, st)
    target = target_from(domain, cluster, service, cfg, st)
    probes = live_probes(settings, st, enabled=not no_probe, timeout_s=probe_timeout)

    def diagnose_once() -> Any:
        from shine_ops.aws import ApiCalls

        aws.calls = ApiCalls()  # each round counts its own calls
        return run(aws, target, pb, settings, probes=probes, suppressions=cfg.suppressions)

    w = Watch(fail_on=fail_on)
    view = _view(fmt, w, interval=interval, until_green=until_green, timeout=timeout)
    view.start(_target_label(target))
    try:
        end = run_watch(diagnose_once, w, interval_s=interval, until_green=until_green, timeout_s=timeout,
                        on_round=view.round, on_error=view.error, on_wait=view.tick)
    except KeyboardInterrupt:
        view.stop()
        view.finish("interrupted", w, time.time() - w.started, w.still_failing())
        raise typer.Exit(130) from None
    except BaseException:
        view.stop()
        raise
    view.stop()
    view.finish(end.reason, w, end.elapsed_s, end.still_failing)
    raise typer.Exit(end.exit_code)


def _target_label(target: Any) -> str:
    svc = "/".join(x for x in (target.cluster, target.service) if x)
    return " -> ".join(x for x in (target.domain, svc) if x) or "the configured target"


def _view(fmt: str, w: Any, **opts: Any) -> "_Lines":
    if fmt == "json":
        return _JsonLines(w, **opts)
    if sys.stdout.isatty():
        return _Live(w, **opts)
    return _Lines(w, **opts)


class _Lines:
    """Without a terminal: one line per change on stdout (a log a person or grep reads), notes on stderr."""

    def __init__(self, w: Any, *, interval: float, until_green: bool, timeout: float | None) -> None:
        self.w, self.interval, self.until_green, self.timeout = w, interval, until_green, timeout

    def start(self, label: str) -> None:
        goal = f"until no check fails at or above {self.w.fail_on}" if self.until_green else "until interrupted"
        if self.timeout is not None:
            goal += f" (at most {self.timeout:g} s)"
        self.emit(f"watching {label} every {self.interval:g} s, {goal}")

    def emit(self, text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def round(self, w: Any, changes: list[Any]) -> None:
        for c in changes:
            if c.before is None and c.kind == "check" and c.after in ("pass", "skip"):
                continue  # first round: every hop, but only the checks that are not fine
            self.emit(c.line(w.started))
        if w.rounds == 1 or changes:
            self.emit(f"[+{time.time() - w.started:4.0f}s] round {w.rounds:<3} "
                      + (f"{len(w.failing)} check(s) failing at or above {w.fail_on}" if w.failing
                         else f"no check failing at or above {w.fail_on}"))

    def error(self, exc: Exception, in_a_row: int) -> None:
        say(f"round could not complete ({in_a_row} in a row): {exc}")

    def tick(self, left: float) -> None:
        pass

    def stop(self) -> None:
        pass

    def finish(self, reason: str, w: Any, elapsed: float, still: list[str]) -> None:
        from shine_ops.watch import duration

        if reason == "green":
            self.emit(f"green after {duration(elapsed)}: no check fails at or above {w.fail_on}")
            return
        head = "timeout" if reason == "timeout" else "stopped"
        if still:
            self.emit(f"{head} after {duration(elapsed)}; still failing at or above {w.fail_on}:")
            for line in still:
                self.emit(f"  {line}")
        else:
            self.emit(f"{head} after {duration(elapsed)}: no check fails at or above {w.fail_on}")


class _JsonLines(_Lines):
    """``--format json``: one JSON object per line on stdout (``state``, ``change``, ``round``, ``end``)."""

    def start(self, label: str) -> None:
        self.emit(json.dumps({"event": "start", "target": label, "interval_s": self.interval,
                              "until_green": self.until_green, "timeout_s": self.timeout, "fail_on": self.w.fail_on}))

    def round(self, w: Any, changes: list[Any]) -> None:
        for c in changes:
            self.emit(json.dumps(c.to_json()))
        self.emit(json.dumps({"event": "round", "round": w.rounds, "green": w.green,
                              "failing": [f.check for f in w.failing], "changes": len(changes)}))

    def error(self, exc: Exception, in_a_row: int) -> None:
        self.emit(json.dumps({"event": "error", "round": self.w.rounds + 1, "in_a_row": in_a_row,
                              "error_class": type(exc).__name__, "error": str(exc)}))

    def finish(self, reason: str, w: Any, elapsed: float, still: list[str]) -> None:
        self.emit(json.dumps({"event": "end", "reason": reason, "elapsed_s": round(elapsed, 1), "rounds": w.rounds,
                              "green": w.green, "failing": [f.check for f in w.failing], "still_failing": still}))


class _Live(_Lines):
    """On a terminal: one rich Live view, redrawn every round and every second (the ages)."""

    STYLE = {"fail": "bold red", "error": "magenta", "warn": "yellow", "pass": "green", "skip": "dim"}

    def start(self, label: str) -> None:
        from rich.console import Console
        from rich.live import Live

        self.label = label
        self.left: float | None = None
        self.errors: str = ""
        self.console = Console()
        self.live = Live(self._render(), console=self.console, refresh_per_second=2, transient=False)
        self.live.start()

    def round(self, w: Any, changes: list[Any]) -> None:
        self.errors = ""
        self.live.update(self._render())

    def error(self, exc: Exception, in_a_row: int) -> None:
        self.errors = f"last round could not complete ({in_a_row} in a row): {exc}"
        self.live.update(self._render())

    def tick(self, left: float) -> None:
        self.left = left
        self.live.update(self._render())

    def stop(self) -> None:
        live = getattr(self, "live", None)
        if live is not None:
            live.stop()

    def emit(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False)

    def _render(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        from shine_ops.watch import HOP_TITLES, duration

        w, now = self.w, time.time()
        status = ("green" if w.green else f"{len(w.failing)} failing at or above {w.fail_on}") if w.rounds \
            else "first round..."
        head = Text(f"shine-ops watch  {self.label}  round {w.rounds}  every {self.interval:g} s"
                    + (f"  next in {self.left:.0f} s" if self.left is not None and w.rounds else "") + "  ")
        head.append(status, style="bold green" if w.green else "bold red" if w.rounds else "dim")
        table = Table(expand=False, show_lines=False)
        for col in ("hop", "state", "for", "resources", "failing checks"):
            table.add_column(col, overflow="fold")
        for hop in w.hops.values():
            table.add_row(HOP_TITLES.get(hop.name, hop.name), Text(hop.status, style=self.STYLE.get(hop.status, "")),
                          duration(hop.held_s(now)), hop.resource, ", ".join(hop.failing))
        parts: list[Any] = [head, table]
        recent = [c for c in w.last_changes if c.before is not None]
        if recent:
            parts.append(Text(f"changed in round {w.rounds}:", style="bold"))
            for c in recent[:10]:
                parts.append(Text("  " + c.line(w.started).strip(), style=self.STYLE.get(c.after, "")))
        if w.failing:
            parts.append(Text(f"failing at or above {w.fail_on}:", style="bold"))
            for f in w.failing[:8]:
                held = w.checks[f.check].held_s(now) if f.check in w.checks else 0
                parts.append(Text(f"  {f.check} ({f.severity}, {duration(held)}): {f.summary}", style="red"))
        if self.errors:
            parts.append(Text(self.errors, style="magenta"))
        return Group(*parts)
