"""The change journal: every mutating call, recorded as an intent before it is made and completed after.

SQLite in the state folder (``shine_ops.config.state_dir``), or a team journal in S3. The change runner
(``shine_ops.changes``) is its only writer of changes. A crash between the two leaves an ``intent`` row; the next start reconciles
it against the live state with the change's probe, so nothing goes unaccounted for.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS applies (
  apply_id TEXT PRIMARY KEY, plan_id TEXT, plan_hash TEXT, kind TEXT, who TEXT, account TEXT, region TEXT,
  endpoint TEXT, target TEXT, started_at TEXT, finished_at TEXT, status TEXT, note TEXT);
CREATE TABLE IF NOT EXISTS changes (
  change_id TEXT PRIMARY KEY, apply_id TEXT, seq INTEGER, fix TEXT, change_key TEXT, resource TEXT,
  description TEXT, call TEXT, before TEXT, after TEXT, inverse TEXT, probe TEXT, result TEXT,
  status TEXT, verification TEXT, started_at TEXT, finished_at TEXT, error TEXT, undoes TEXT,
  saved TEXT, undo_note TEXT);
"""
# Columns added after the first release: a journal made by an older shine-ops gains them on open.
LATER_COLUMNS = {"changes": ("saved", "undo_note")}
# change status: intent -> applied | failed | unknown; applied -> rolled_back; reconciled intents: applied | not_applied


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Journal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), isolation_level=None)  # autocommit: every row is durable
        self.db.row_factory = sqlite3.Row
        self.db.executescript(SCHEMA)
        for table, columns in LATER_COLUMNS.items():
            have = {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}
            for column in columns:
                if column not in have:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
        self.on_write: Any = None  # called after every write (the S3 store uploads the file)

    def _wrote(self) -> None:
        if self.on_write is not None:
            self.on_write()

    @classmethod
    def default(cls) -> "Journal":
        """The local journal: ``journal.db`` in the state folder of the configuration (``shine_ops.config``)."""
        from shine_ops.config import state_dir

        return cls(state_dir() / "journal.db")

    def start_apply(self, apply_id: str, *, plan_id: str, plan_hash: str, kind: str, who: str | None,
                    account: str | None, region: str, endpoint: str | None, target: dict) -> None:
        self.db.execute("INSERT INTO applies VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (apply_id, plan_id, plan_hash, kind, who, account, region, endpoint, json.dumps(target),
                         _now(), None, "running", None))
        self._wrote()

    def finish_apply(self, apply_id: str, status: str, note: str | None = None) -> None:
        self.db.execute("UPDATE applies SET finished_at=?, status=?, note=? WHERE apply_id=?",
                        (_now(), status, note, apply_id))
        self._wrote()

    def intent(self, change_id: str, apply_id: str, seq: int, change: Any, call: dict, inverse: list,
               undoes: str | None = None) -> None:
        from dataclasses import asdict

        self.db.execute(
            "INSERT INTO changes (change_id, apply_id, seq, fix, change_key, resource, description, call, before, "
            "after, inverse, probe, status, started_at, undoes, saved, undo_note) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (change_id, apply_id, seq, change.fix, change.key, change.resource, change.description,
             json.dumps(call, default=str), json.dumps(change.before, default=str),
             json.dumps(change.after, default=str), json.dumps(inverse, default=str),
             json.dumps(asdict(change.probe), default=str) if change.probe else None, "intent", _now(), undoes,
             json.dumps(change.saved, default=str) if change.saved else None,
             None if change.reversible else (change.undo_note or "AWS cannot undo this step")))
        self._wrote()

    def complete(self, change_id: str, status: str, *, result: Any = None, inverse: list | None = None,
                 error: str | None = None) -> None:
        sets, args = ["status=?", "finished_at=?"], [status, _now()]
        if result is not None:
            sets.append("result=?")
            args.append(json.dumps(result, default=str))
        if inverse is not None:
            sets.append("inverse=?")
            args.append(json.dumps(inverse, default=str))
        if error is not None:
            sets.append("error=?")
            args.append(error)
        self.db.execute(f"UPDATE changes SET {', '.join(sets)} WHERE change_id=?", (*args, change_id))
        self._wrote()

    def set_status(self, change_id: str, status: str, verification: str | None = None) -> None:
        self.db.execute("UPDATE changes SET status=?, verification=COALESCE(?, verification) WHERE change_id=?",
                        (status, verification, change_id))
        self._wrote()

    def set_probe(self, change_id: str, probe: dict) -> None:
        """The probe with the call's results filled in (what reconciliation and rollback read)."""
        self.db.execute("UPDATE changes SET probe=? WHERE change_id=?", (json.dumps(probe, default=str), change_id))
        self._wrote()

    def changes(self, apply_id: str | None = None) -> list[sqlite3.Row]:
        if apply_id:
            return list(self.db.execute("SELECT * FROM changes WHERE apply_id=? ORDER BY seq", (apply_id,)))
        return list(self.db.execute("SELECT * FROM changes ORDER BY started_at, apply_id, seq"))

    def change(self, change_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM changes WHERE change_id=?", (change_id,)).fetchone()

    def apply_row(self, apply_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM applies WHERE apply_id=?", (apply_id,)).fetchone()

    def applies(self) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT * FROM applies ORDER BY started_at"))

    def open_intents(self) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT * FROM changes WHERE status='intent' ORDER BY started_at"))


class S3Store:
    """A team journal in S3 (``state: s3://bucket/prefix`` in shine-ops.yaml).

    ``open(lock=True)`` takes ``prefix/lock`` with a conditional put (If-None-Match), so two people cannot
    apply at once; the SQLite file is downloaded, used locally, and uploaded after every write, so a teammate
    can read the history and roll back your change.
    """

    def __init__(self, aws: Any, uri: str, who: str | None = None) -> None:
        from shine_ops.errors import UsageError

        if not uri.startswith("s3://") or "/" not in uri[5:].rstrip("/") and not uri[5:]:
            raise UsageError(f"state must be s3://bucket[/prefix], not {uri!r}")
        bucket, _, prefix = uri[5:].partition("/")
        if not bucket:
            raise UsageError(f"state must be s3://bucket[/prefix], not {uri!r}")
        self.aws, self.bucket, self.who = aws, bucket, who or "unknown"
        self.prefix = prefix.strip("/")
        self.key = f"{self.prefix}/journal.db".lstrip("/")
        self.lock_key = f"{self.prefix}/lock".lstrip("/")
        self.local: Path | None = None
        self.locked = False

    def open(self, *, lock: bool) -> Journal:
        import tempfile

        from shine_ops.errors import AwsCallError, RunIncomplete

        if lock:
            body = json.dumps({"who": self.who, "since": _now()}).encode()
            try:
                self.aws.call("s3", "PutObject", Bucket=self.bucket, Key=self.lock_key, Body=body, IfNoneMatch="*")
            except AwsCallError as err:
                if err.code not in ("PreconditionFailed", "ConditionalRequestConflict"):
                    raise
                holder = self._lock_holder()
                raise RunIncomplete(f"the team journal s3://{self.bucket}/{self.lock_key} is locked by "
                                    f"{holder.get('who', '?')} since {holder.get('since', '?')}",
                                    hint="wait for their apply to finish; if it died, delete that lock object") from None
            self.locked = True
        fd, name = tempfile.mkstemp(prefix="shine-ops-journal-", suffix=".db")
        import os

        os.close(fd)
        self.local = Path(name)
        try:
            data = self.aws.call("s3", "GetObject", Bucket=self.bucket, Key=self.key)["Body"].read()
            self.local.write_bytes(data)
        except AwsCallError as err:
            if err.code not in ("NoSuchKey", "404", "NotFound"):
                # never upload what was not downloaded: release the lock only, keep the team's journal intact
                self.local.unlink(missing_ok=True)
                self.local = None
                self.close()
                raise
        journal = Journal(self.local)
        journal.on_write = self.upload if lock else None
        return journal

    def _lock_holder(self) -> dict:
        try:
            return json.loads(self.aws.call("s3", "GetObject", Bucket=self.bucket, Key=self.lock_key)["Body"].read())
        except Exception:  # noqa: BLE001 - only used to word the refusal
            return {}

    def upload(self) -> None:
        if self.local is not None:
            self.aws.call("s3", "PutObject", Bucket=self.bucket, Key=self.key, Body=self.local.read_bytes())

    def close(self) -> None:
        if self.locked:
            if self.local is not None:
                self.upload()
            self.aws.call("s3", "DeleteObject", Bucket=self.bucket, Key=self.lock_key)
            self.locked = False
        if self.local is not None:
            self.local.unlink(missing_ok=True)
            self.local = None


class _LocalStore:
    def open(self, *, lock: bool) -> Journal:
        return Journal.default()

    def close(self) -> None:
        pass


def store_for(config: Any, aws: Any, who: str | None = None) -> Any:
    """The journal's home: ``state:`` in shine-ops.yaml (s3://...), else SQLite in the state folder."""
    state = config.get("state") if config is not None else None
    if isinstance(state, dict):
        state = state.get("uri")
    if state:
        return S3Store(aws, str(state), who)
    return _LocalStore()
