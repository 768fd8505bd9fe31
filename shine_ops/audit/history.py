"""Audit history: SQLite ``audits.db`` in the state folder, next to the fix journal (``journal.db``).

One row per audit (keyed by the absolute path of its configuration, to compare with the previous run of the
same configuration) and one row per finding (passing ones too, so ``history --check ID`` shows pass/fail
over time).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS audits (
  audit_id TEXT PRIMARY KEY, config TEXT, started_at TEXT, finished_at TEXT, exit_code INTEGER,
  fail_on TEXT, targets INTEGER, failing INTEGER, summary TEXT, comparison TEXT, out_dir TEXT);
CREATE TABLE IF NOT EXISTS audit_findings (
  audit_id TEXT, target TEXT, playbook TEXT, check_id TEXT, status TEXT, severity TEXT, resources TEXT,
  fkey TEXT, suppressed INTEGER, summary TEXT);
CREATE INDEX IF NOT EXISTS audit_findings_check ON audit_findings (check_id);
CREATE INDEX IF NOT EXISTS audit_findings_audit ON audit_findings (audit_id);
CREATE TABLE IF NOT EXISTS audit_targets (
  audit_id TEXT, target TEXT, exit_code INTEGER, error TEXT);
"""


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def new_audit_id() -> str:
    return "u" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)


def default_path() -> Path:
    from shine_ops.config import state_dir

    return state_dir() / "audits.db"


class AuditHistory:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def previous(self, config: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM audits WHERE config=? ORDER BY started_at DESC, rowid DESC LIMIT 1",
                               (config,)).fetchone()

    def failing(self, audit_id: str) -> dict[str, dict[str, Any]]:
        out = {}
        for r in self.db.execute("SELECT * FROM audit_findings WHERE audit_id=? AND status='fail' AND suppressed=0",
                                 (audit_id,)):
            out[r["fkey"]] = {"target": r["target"], "check": r["check_id"], "severity": r["severity"],
                              "resources": json.loads(r["resources"]), "summary": r["summary"],
                              "playbook": r["playbook"]}
        return out

    def record(self, *, audit_id: str, config: str, started_at: str, exit_code: int, fail_on: str,
               target_results: list[dict[str, Any]], summary: dict[str, Any], comparison: dict[str, Any],
               out_dir: str) -> None:
        from shine_ops.audit.compare import finding_key

        failing = sum(1 for tr in target_results for rep in tr["reports"] for f in rep["findings"]
                      if f["status"] == "fail" and not f.get("suppressed"))
        with self.db:  # one transaction: an audit is recorded whole or not at all
            self.db.execute("BEGIN")
            self.db.execute("INSERT INTO audits VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                            (audit_id, config, started_at, now_iso(), exit_code, fail_on, len(target_results),
                             failing, json.dumps(summary), json.dumps(comparison, default=str), out_dir))
            for tr in target_results:
                self.db.execute("INSERT INTO audit_targets VALUES (?,?,?,?)",
                                (audit_id, tr["name"], tr["exit_code"], tr["error"]))
                for rep in tr["reports"]:
                    for f in rep["findings"]:
                        res = sorted(f.get("resources") or [])
                        self.db.execute("INSERT INTO audit_findings VALUES (?,?,?,?,?,?,?,?,?,?)",
                                        (audit_id, tr["name"], rep["playbook"], f["check"], f["status"],
                                         f["severity"], json.dumps(res), finding_key(tr["name"], f["check"], res),
                                         1 if f.get("suppressed") else 0, f.get("summary", "")))

    def audits(self, limit: int = 20) -> list[sqlite3.Row]:
        rows = list(self.db.execute("SELECT * FROM audits ORDER BY started_at DESC, rowid DESC LIMIT ?", (limit,)))
        return rows[::-1]

    def check_history(self, check_id: str, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT a.audit_id, a.started_at, a.config, f.target, f.playbook, f.status, f.severity, f.resources, "
            "f.summary, f.suppressed FROM audit_findings f JOIN audits a ON a.audit_id = f.audit_id "
            "WHERE f.check_id=? ORDER BY a.started_at DESC, a.rowid DESC, f.rowid DESC LIMIT ?", (check_id, limit))
        out = [dict(r) | {"resources": json.loads(r["resources"]), "suppressed": bool(r["suppressed"])} for r in rows]
        return out[::-1]


def open_history() -> AuditHistory | None:
    """The local audit history if it exists (``history`` must not create files just by looking)."""
    p = default_path()
    return AuditHistory(p) if p.exists() else None


# -- `shine-ops history` (shine_ops/cli/fix_cmd.py calls these) ---------------------------------------------------
def audit_lines(limit: int = 20, h: AuditHistory | None = None) -> list[str]:
    """The audits section of ``shine-ops history`` (empty when no audit was ever recorded)."""
    own = h is None
    h = h or open_history()
    if h is None:
        return []
    try:
        rows = h.audits(limit)
    finally:
        if own:
            h.close()
    if not rows:
        return []
    lines = ["", "audits:"]
    for a in rows:
        cmp = json.loads(a["comparison"] or "{}")
        lines.append(f"{a['audit_id']}  audit    exit {a['exit_code']}  {a['started_at']}  {a['targets']} target(s), "
                     f"{a['failing']} failing; {len(cmp.get('new', []))} new, {len(cmp.get('resolved', []))} resolved"
                     f"  ({a['config']})")
    return lines


def audits_json(limit: int = 20, h: AuditHistory | None = None) -> list[dict[str, Any]]:
    own = h is None
    h = h or open_history()
    if h is None:
        return []
    try:
        return [dict(a) | {"summary": json.loads(a["summary"] or "{}"),
                           "comparison": json.loads(a["comparison"] or "{}")} for a in h.audits(limit)]
    finally:
        if own:
            h.close()


def check_lines(check_id: str, limit: int = 50,
                h: AuditHistory | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """One check's status over time across audits: (text lines, JSON rows)."""
    own = h is None
    h = h or open_history()
    rows = h.check_history(check_id, limit) if h is not None else []
    if h is not None and own:
        h.close()
    if not rows:
        return [f"no audit recorded check {check_id}"], []
    lines = [f"{check_id} across audits (oldest first):"]
    for r in rows:
        mark = r["status"].upper() + (" (suppressed)" if r["suppressed"] else "")
        lines.append(f"{r['started_at']}  {r['audit_id']}  {r['target']:20} {mark:6} {r['summary']}")
    return lines, rows


# -- the team store: ``state: s3://bucket/prefix`` in shine-ops.yaml ------------------------------------------------
class S3AuditStore:
    """``audits.db`` in S3 next to the team journal (``prefix/audits.db``).

    ``open(lock=True)`` takes ``prefix/audits.lock`` with a conditional put (If-None-Match), waiting a little
    for another audit to finish, so two audits never overwrite each other's rows; the file is downloaded, used
    locally and uploaded on ``close``.
    """

    LOCK_WAIT_S = 30.0

    def __init__(self, aws: Any, uri: str) -> None:
        from shine_ops.errors import UsageError

        bucket, _, prefix = uri[5:].partition("/") if uri.startswith("s3://") else ("", "", "")
        if not bucket:
            raise UsageError(f"state must be s3://bucket[/prefix], not {uri!r}")
        self.aws, self.bucket, self.prefix = aws, bucket, prefix.strip("/")
        self.key = f"{self.prefix}/audits.db".lstrip("/")
        self.lock_key = f"{self.prefix}/audits.lock".lstrip("/")
        self.local: Path | None = None
        self.locked = False
        self.history: AuditHistory | None = None

    def open(self, *, lock: bool) -> AuditHistory:
        import os
        import tempfile
        import time

        from shine_ops.errors import AwsCallError, RunIncomplete

        if lock:
            deadline = time.monotonic() + self.LOCK_WAIT_S
            while True:
                try:
                    self.aws.call("s3", "PutObject", Bucket=self.bucket, Key=self.lock_key,
                                  Body=json.dumps({"since": now_iso()}).encode(), IfNoneMatch="*")
                    break
                except AwsCallError as err:
                    if err.code not in ("PreconditionFailed", "ConditionalRequestConflict"):
                        raise
                    if time.monotonic() > deadline:
                        raise RunIncomplete(f"the team audit history s3://{self.bucket}/{self.lock_key} stayed locked "
                                            f"for {self.LOCK_WAIT_S:.0f} s",
                                            hint="another audit is running; if one died, delete that lock object") from None
                    time.sleep(1.0)
            self.locked = True
        fd, name = tempfile.mkstemp(prefix="shine-ops-audits-", suffix=".db")
        os.close(fd)
        self.local = Path(name)
        try:
            self.local.write_bytes(self.aws.call("s3", "GetObject", Bucket=self.bucket, Key=self.key)["Body"].read())
        except AwsCallError as err:
            if err.code not in ("NoSuchKey", "404", "NotFound"):
                self.close(upload=False)
                raise
        self.history = AuditHistory(self.local)
        return self.history

    def close(self, *, upload: bool = True) -> None:
        if self.history is not None:
            self.history.close()
            self.history = None
        try:
            if self.locked and upload and self.local is not None:
                self.aws.call("s3", "PutObject", Bucket=self.bucket, Key=self.key, Body=self.local.read_bytes())
        finally:
            if self.locked:
                self.aws.call("s3", "DeleteObject", Bucket=self.bucket, Key=self.lock_key)
                self.locked = False
            if self.local is not None:
                self.local.unlink(missing_ok=True)
                self.local = None


def state_uri(cfg: Any) -> str | None:
    state = cfg.get("state") if cfg is not None else None
    if isinstance(state, dict):
        state = state.get("uri")
    return str(state) if state else None


def print_history(cfg: Any, aws_factory: Any, *, check: str | None, audits_only: bool, as_json: bool,
                  limit: int, echo: Any) -> None:
    """``shine-ops history --check ID`` / ``--audits`` / the audits section: local, or the team store in S3."""
    uri = state_uri(cfg)
    store = S3AuditStore(aws_factory(), uri) if uri else None
    h = store.open(lock=False) if store else None
    try:
        if check:
            lines, rows = check_lines(check, limit, h)
            echo(json.dumps(rows, indent=2, default=str) if as_json else "\n".join(lines))
        elif audits_only:
            echo(json.dumps(audits_json(limit, h), indent=2, default=str))
        elif not as_json:  # --json keeps its shape (a list of applies); `--audits --json` gives the audits
            for line in audit_lines(limit, h):
                echo(line)
    finally:
        if store:
            store.close(upload=False)
