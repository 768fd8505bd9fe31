"""Run the real Collector and evaluators over a recorded-shape world, as ``shine-ops diagnose --no-probe`` would.

Why a module of its own: the world tests and any later bench share one way to diagnose a world (the snail-trail
playbook, live probes off, undeclared settings, the README's exit codes), so a verdict means the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from shine_ops.errors import EXIT_FINDINGS, EXIT_OK, ShineOpsError
from tests.corpus.replay import WORLDS, ReplayAws


@dataclass
class WorldRun:
    """One diagnosis of one world: the report (None when the run ended early), the exit code, the replay."""

    name: str
    report: Any
    exit_code: int
    aws: ReplayAws
    error: ShineOpsError | None = None

    def finding(self, check: str) -> Any:
        return next(f for f in self.report.findings if f.check == check)


def world_names() -> list[str]:
    """Every world that has hand-written verdicts."""
    return sorted(p.parent.name for p in WORLDS.glob("*/verdicts.yaml"))


def verdicts(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORLDS / name / "verdicts.yaml").read_text())


@lru_cache(maxsize=None)
def diagnose_world(name: str, fail_on: str = "high") -> WorldRun:
    """``shine-ops diagnose <target> --no-probe`` over the world: exit 0/1 from the findings, 2/3 from the error."""
    from shine_ops.engine.runner import load_catalogue, run
    from shine_ops.evaluators import Settings, load_builtin
    from shine_ops.probes.dns import probe_dns
    from shine_ops.probes.service import probe_service
    from shine_ops.topology.collect import Target

    load_builtin()
    spec = verdicts(name)
    aws = ReplayAws(name)
    settings = Settings()

    def probes(snap: Any, path: Any) -> dict[str, Any]:  # --no-probe: both probes say they were off
        return {"dns": probe_dns(path.domain, [], enabled=False),
                "service": probe_service(path.domain, settings, timeout_s=1.0, enabled=False)}

    playbook = load_catalogue().load_playbook("snail-trail")
    try:
        report = run(aws, Target(**spec["diagnose"]), playbook, settings, probes=probes)
    except ShineOpsError as err:
        return WorldRun(name, None, err.exit_code, aws, err)
    code = EXIT_FINDINGS if report.failing_at_or_above(fail_on) else EXIT_OK
    return WorldRun(name, report, code, aws)


def world_dir(name: str) -> Path:
    return WORLDS / name
