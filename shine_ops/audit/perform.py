"""One audit from start to finish: run, compare with the previous audit, record, write, notify, export metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from shine_ops import __version__
from shine_ops.audit import AUDIT_SCHEMA
from shine_ops.audit.config import AuditConfig
from shine_ops.audit.run import Connection, combine_exit_codes, run_targets


@dataclass
class AuditOutcome:
    doc: dict[str, Any]
    exit_code: int
    files: list[Path] = field(default_factory=list)
    notify_failed: bool = False


def perform_audit(acfg: AuditConfig, playbooks: list[Any], cfg: Any, conn: Connection, out_dir: Path, *,
                  no_probe: bool, probe_timeout: float = 10.0, concurrency: int = 2,
                  webhook: str | None = None, cloudwatch: bool = True,
                  say: Callable[[str], None] = lambda m: None) -> AuditOutcome:
    from shine_ops.audit import metrics, notify
    from shine_ops.audit.compare import compare, failing_items
    from shine_ops.audit.history import AuditHistory, new_audit_id, now_iso
    from shine_ops.audit.output import target_entries, write_reports

    audit_id, started_at, t0 = new_audit_id(), now_iso(), time.monotonic()
    config_key = str(Path(acfg.path).resolve()) if acfg.path else "<no file>"
    say(f"audit {audit_id}: {len(acfg.targets)} target(s), playbooks {', '.join(acfg.playbooks)}")
    results = run_targets(acfg, playbooks, cfg, conn, no_probe=no_probe, probe_timeout=probe_timeout,
                          concurrency=concurrency, progress=say)
    exit_code = combine_exit_codes([r.exit_code for r in results])
    groups = [r.to_json() for r in results]

    from shine_ops.audit.history import S3AuditStore, state_uri

    uri = state_uri(cfg)
    store = None
    if uri:  # the team store: the same history for everyone, like the journal
        from shine_ops.aws import Aws, ConnectionOptions

        store = S3AuditStore(Aws(ConnectionOptions(profile=conn.profile, region=conn.region,
                                                   endpoint_url=conn.endpoint_url)), uri)
        history = store.open(lock=True)
    else:
        history = AuditHistory()
    try:
        prev = history.previous(config_key)
        current = failing_items(groups)
        comparison = compare(history.failing(prev["audit_id"]) if prev else None, current,
                             previous_id=prev["audit_id"] if prev else None,
                             unaudited_targets=[g["name"] for g in groups if g["error"]])
        entries = target_entries(results)
        totals = {k: sum(e["summary"][k] for e in entries) for k in ("pass", "fail", "warn", "skip", "error")}
        failing = sum(len(rep.failing_at_or_above(acfg.fail_on)) for r in results for rep in r.reports)
        summary = {"targets": len(results), "failing": failing, "incomplete": sum(1 for r in results if r.error),
                   **totals}
        doc: dict[str, Any] = {
            "schema": AUDIT_SCHEMA, "tool_version": __version__, "audit_id": audit_id, "config": config_key,
            "started_at": started_at, "finished_at": now_iso(), "duration_s": round(time.monotonic() - t0, 3),
            "fail_on": acfg.fail_on, "playbooks": acfg.playbooks, "exit_code": exit_code, "targets": entries,
            "comparison": comparison, "summary": summary, "delivery": []}
        history.record(audit_id=audit_id, config=config_key, started_at=started_at, exit_code=exit_code,
                       fail_on=acfg.fail_on, target_results=groups, summary=summary, comparison=comparison,
                       out_dir=str(out_dir))
    finally:
        if store is not None:
            store.close()
        else:
            history.close()

    # metrics: CloudWatch per target (its own account/region), then the Prometheus textfile
    durations = {r.spec.name: r.duration_s for r in results}
    if cloudwatch:
        for r, g in zip(results, groups):
            if r.aws is None:
                continue
            err = metrics.put_cloudwatch(r.aws, g, r.duration_s)
            doc["delivery"].append({"channel": "cloudwatch", "target": r.spec.name, "ok": err is None,
                                    "detail": err or f"namespace {metrics.NAMESPACE}", "attempts": 1})
            if err:
                say(f"note: CloudWatch metrics for {r.spec.name} not published: {err}")
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics.write_atomic(out_dir / "metrics.prom", metrics.prometheus_text(groups, exit_code, durations))

    # notifications
    outcome = AuditOutcome(doc, exit_code)
    hook = webhook or acfg.notify.webhook
    wanted = notify.should_notify(acfg.notify.when, exit_code=exit_code, comparison=comparison)
    if (hook or acfg.notify.sns_topic_arn) and not wanted:
        say(f"no notification: when={acfg.notify.when} and nothing qualifies")
    if wanted:
        deliveries = []
        if hook:
            deliveries.append(notify.post_webhook(hook, notify.slack_payload(doc)))
        if acfg.notify.sns_topic_arn:
            deliveries.append(notify.publish_sns(notify.sns_aws(acfg.notify.sns_topic_arn, conn),
                                                 acfg.notify.sns_topic_arn, doc))
        for d in deliveries:
            doc["delivery"].append(d.to_json())
            if d.ok:
                say(f"notified {d.channel} {d.target} ({d.detail})")
            else:
                outcome.notify_failed = True
                say(f"shine-ops: notification by {d.channel} to {d.target} failed: {d.detail}")
    outcome.files = write_reports(out_dir, doc, results)
    return outcome
