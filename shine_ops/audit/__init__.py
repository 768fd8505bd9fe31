"""Scheduled health audits: run playbooks over many targets, keep history, compare, notify, export metrics.

``shine-ops audit`` (shine_ops/cli/audit.py) is the entry point; the pieces live here:
config (the ``targets``/``playbooks``/``fail_on``/``notify`` keys), run (concurrent runs, exit code),
compare (new/resolved/persisting), history (SQLite ``audits.db`` next to the journal), notify (webhook, SNS),
metrics (CloudWatch, Prometheus textfile), html and output (the four report files), schedule (recipes).
"""

AUDIT_SCHEMA = "shine-ops.audit/v1"
