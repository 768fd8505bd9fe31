"""The change journal: every mutating call, recorded as an intent before it is made and completed after.

SQLite in the state folder. A crash between the two leaves an ``intent`` row; the next start reconciles
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
  status TEXT, verification TEXT, started_at TEXT, finished_at TEXT, error TEXT, undoes TEXT);
"""
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

    @classmethod
    def default(cls) -> "Journal":
        from shine_ops.sandbox.state import state_dir

        return cls(state_dir() / "journal.db")

    def start_apply(self, apply_id: str, *, plan_id: str, plan_hash: str, kind: str, who: str | None,
                    account: str | None, region: str, endpoint: str | None, target: dict) -> None:
        self.db.execute("INSERT INTO applies VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (apply_id, plan_id, plan_hash, kind, who, account, region, endpoint, json.dumps(target),
                         _now(), None, "running", None))

    def finish_apply(self, apply_id: str, status: str, note: str | None = None) -> None:
        self.db.execute("UPDATE applies SET finished_at=?, status=?, note=? WHERE apply_id=?",
                        (_now(), status, note, apply_id))

    def intent(self, change_id: str, apply_id: str, seq: int, change: Any, call: dict, inverse: list,
               undoes: str | None = None) -> None:
        from dataclasses import asdict

        self.db.execute(
            "INSERT INTO changes (change_id, apply_id, seq, fix, change_key, resource, description, call, before, "
            "after, inverse, probe, status, started_at, undoes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (change_id, apply_id, seq, change.fix, change.key, change.resource, change.description,
             json.dumps(call, default=str), json.dumps(change.before, default=str),
             json.dumps(change.after, default=str), json.dumps(inverse, default=str),
             json.dumps(asdict(change.probe), default=str) if change.probe else None, "intent", _now(), undoes))

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

    def set_status(self, change_id: str, status: str, verification: str | None = None) -> None:
        self.db.execute("UPDATE changes SET status=?, verification=COALESCE(?, verification) WHERE change_id=?",
                        (status, verification, change_id))

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
