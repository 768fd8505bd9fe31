"""Serve a generated world to the real Collector, run every evaluator and renderer, and judge the invariants.

Why a variant of the replay: ``tests/corpus/replay.py`` answers the Collector from a world the way AWS would
(filters, not-found errors, parameter validation, timestamps as ``datetime``). A generated world differs in two
places only: a CloudWatch answer is served as generated (the corpus replay rebuilds it by metric label), and a
generated page token is honoured once (the second page ends), so pagination runs without looping.

The invariants (issue 14 item 2): nothing raises but a ``ShineOpsError`` (a usage error or an essential read that
failed: a clean exit, never a traceback); no evaluator crashes behind an ``error`` finding; every finding has a
status of shine-ops.report/v1 and a summary with no empty name; every ``pass`` names the resources it judged and shows
evidence or the actual value; every renderer renders; the JSON report validates against the shipped schema.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from shine_ops.errors import ShineOpsError
from tests.corpus.replay import ReplayAws

# What an empty or missing name leaves in a sentence: "forwards to , the", "(, x)", "group  of", "()", "''", "None".
EMPTY_NAME = re.compile(r"(\bto|\bfor|\bof|\bin|\bby|\bat|\bon|\bnamed|:) ,|\s,|\(\s*,|,\s*,|\(\s*\)|''|\"\"|"
                        r"\s\s+\S|\bNone\b|\bnull\b|:\s*$")
EVALUATOR_CRASH = "The evaluator failed:"


class FuzzAws(ReplayAws):
    """``ReplayAws`` over a generated world (see the module docstring for the two differences)."""

    def _cloudwatch_GetMetricData(self, p: dict) -> dict:
        dims = {d["Name"]: d["Value"] for q in p["MetricDataQueries"]
                for d in q.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])}
        resp = dict(self.responses.get(f"cloudwatch.GetMetricData LoadBalancer={dims.get('LoadBalancer')}",
                                       {"MetricDataResults": []}))
        if "NextToken" in p:
            resp.pop("NextToken", None)
        return resp

    def _elbv2_DescribeListenerCertificates(self, p: dict) -> dict:
        resp = dict(super()._elbv2_DescribeListenerCertificates(p))
        if "Marker" in p:
            resp.pop("NextMarker", None)
        return resp


@lru_cache(maxsize=None)
def report_validator() -> Any:
    import jsonschema

    from shine_ops.cli.report_cmd import report_schema

    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@dataclass
class FuzzRun:
    """One generated world through diagnose: the report (None when the run ended with a ShineOpsError)."""

    report: Any = None
    error: ShineOpsError | None = None
    rendered: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)


def diagnose(world: dict[str, Any], settings: Any = None) -> FuzzRun:
    """``shine-ops diagnose <target> --no-probe`` over the world, rendered in every format; ``problems`` lists
    every broken invariant (empty: the world passed). Raises only for a crash (the fuzzer's finding)."""
    from shine_ops.engine.runner import load_catalogue, run
    from shine_ops.evaluators import Settings, load_builtin
    from shine_ops.probes.dns import probe_dns
    from shine_ops.probes.service import probe_service
    from shine_ops.report import FORMATS, render
    from shine_ops.topology.collect import Target

    load_builtin()
    settings = settings or Settings()
    aws = FuzzAws(world["responses"])

    def probes(snap: Any, path: Any) -> dict[str, Any]:  # --no-probe
        return {"dns": probe_dns(path.domain, [], enabled=False),
                "service": probe_service(path.domain, settings, timeout_s=1.0, enabled=False)}

    out = FuzzRun()
    playbook = load_catalogue().load_playbook("snail-trail")
    try:
        out.report = run(aws, Target(**world["target"]), playbook, settings, probes=probes)
    except ShineOpsError as err:  # a clean exit (2 or 3) with a message, never a traceback
        out.error = err
        out.calls = [op for op, _ in aws.log]
        if not str(err).strip():
            out.problems.append(f"{type(err).__name__} with an empty message")
        return out
    out.calls = [op for op, _ in aws.log]
    for fmt in FORMATS:
        out.rendered[fmt] = render(out.report, fmt, color=False)
    out.problems += problems(out.report, out.rendered["json"], len(playbook.entries))
    return out


def problems(report: Any, rendered_json: str, n_checks: int) -> list[str]:
    """Every broken invariant of one report (see the module docstring)."""
    from shine_ops.engine.finding import STATUSES

    out: list[str] = []
    if len(report.findings) != n_checks:
        out.append(f"{len(report.findings)} findings for {n_checks} checks")
    for f in report.findings:
        where = f"{f.check} ({f.status})"
        if f.status not in STATUSES:
            out.append(f"{where}: status outside shine-ops.report/v1")
        if not f.summary or not f.summary.strip():
            out.append(f"{where}: empty summary")
        elif EVALUATOR_CRASH in f.summary:
            out.append(f"{where}: the evaluator crashed: {f.summary}")
        elif EMPTY_NAME.search(f.summary):
            out.append(f"{where}: an empty name in {f.summary!r} (at {EMPTY_NAME.search(f.summary).group(0)!r})")
        bad = [r for r in f.resources if not isinstance(r, str) or not r.strip() or r in ("None", "?")]
        if bad:
            out.append(f"{where}: empty resource names {bad!r}")
        if f.status == "pass":
            if not f.resources:
                out.append(f"{where}: passed naming no resource it judged: {f.summary!r}")
            if not f.evidence and not (f.actual or "").strip():
                out.append(f"{where}: passed with no evidence and no actual value: {f.summary!r}")
    doc = json.loads(rendered_json)
    for err in report_validator().iter_errors(doc):
        out.append(f"schema: {'/'.join(map(str, err.absolute_path))}: {err.message[:200]}")
    return out
