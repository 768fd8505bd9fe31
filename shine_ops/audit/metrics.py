"""Metrics: CloudWatch PutMetricData (namespace ``ShineOps``) and a Prometheus textfile (``metrics.prom``).

Per target: ``FailingChecks`` by severity (dimensions Target, Severity) and ``AuditDuration`` (dimension
Target), published with the target's own connection (its account and region). The textfile is written
atomically so node_exporter's textfile collector never reads half a file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from shine_ops.engine.finding import SEVERITIES

NAMESPACE = "ShineOps"


def failing_by_severity(target: dict[str, Any]) -> dict[str, int]:
    counts = {s: 0 for s in SEVERITIES}
    for rep in target["reports"]:
        for f in rep["findings"]:
            if f["status"] == "fail" and not f.get("suppressed"):
                counts[f["severity"]] += 1
    return counts


def metric_data(target: dict[str, Any], duration_s: float) -> list[dict[str, Any]]:
    name = target["name"]
    data = [{"MetricName": "FailingChecks", "Unit": "Count", "Value": float(n),
             "Dimensions": [{"Name": "Target", "Value": name}, {"Name": "Severity", "Value": sev}]}
            for sev, n in failing_by_severity(target).items()]
    data.append({"MetricName": "AuditDuration", "Unit": "Seconds", "Value": round(duration_s, 3),
                 "Dimensions": [{"Name": "Target", "Value": name}]})
    data.append({"MetricName": "AuditIncomplete", "Unit": "Count", "Value": 1.0 if target.get("error") else 0.0,
                 "Dimensions": [{"Name": "Target", "Value": name}]})
    return data


def put_cloudwatch(aws: Any, target: dict[str, Any], duration_s: float) -> str | None:
    """Publish; returns None on success or the error message (reported, never raised)."""
    try:
        aws.call("cloudwatch", "PutMetricData", Namespace=NAMESPACE, MetricData=metric_data(target, duration_s))
    except Exception as err:  # noqa: BLE001
        return str(err)
    return None


def _label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def prometheus_text(groups: list[dict[str, Any]], exit_code: int, durations: dict[str, float]) -> str:
    """``groups``: one ``TargetResult.to_json()`` per target."""
    lines = ["# HELP shine_ops_audit_failing_checks Failing checks (unsuppressed) by target and severity.",
             "# TYPE shine_ops_audit_failing_checks gauge"]
    for t in groups:
        for sev, n in failing_by_severity(t).items():
            lines.append(f'shine_ops_audit_failing_checks{{target="{_label(t["name"])}",severity="{sev}"}} {n}')
    lines += ["# HELP shine_ops_audit_duration_seconds Duration of the target's audit.",
              "# TYPE shine_ops_audit_duration_seconds gauge"]
    for t in groups:
        lines.append(f'shine_ops_audit_duration_seconds{{target="{_label(t["name"])}"}} '
                     f'{durations.get(t["name"], 0.0):.3f}')
    lines += ["# HELP shine_ops_audit_target_up 1 when the target could be audited, 0 when the run was incomplete.",
              "# TYPE shine_ops_audit_target_up gauge"]
    for t in groups:
        lines.append(f'shine_ops_audit_target_up{{target="{_label(t["name"])}"}} {0 if t.get("error") else 1}')
    lines += ["# HELP shine_ops_audit_exit_code Exit code of the last audit (0 ok, 1 failing, 2 usage, 3 incomplete).",
              "# TYPE shine_ops_audit_exit_code gauge", f"shine_ops_audit_exit_code {exit_code}",
              "# HELP shine_ops_audit_last_run_timestamp_seconds When the last audit finished (Unix time).",
              "# TYPE shine_ops_audit_last_run_timestamp_seconds gauge",
              f"shine_ops_audit_last_run_timestamp_seconds {int(time.time())}"]
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
