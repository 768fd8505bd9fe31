"""Apply ids and change ids, minted here only.

An apply id is a kind letter, the UTC time and a short tail: ``a`` a fix (the tail is the plan id, so a plan
and its apply read together), ``d`` a deploy, ``r`` a rollback. A change id is its apply id and the change's
position in it (``a20260101120000-1a2b3c-02``), so a journal sorts the way the calls were made.
"""

from __future__ import annotations

import datetime as dt
import uuid

FIX = "a"
DEPLOY = "d"
ROLLBACK = "r"
KINDS = {FIX: "fix", DEPLOY: "deploy", ROLLBACK: "rollback"}


def new_apply_id(kind: str, tail: str | None = None) -> str:
    """``<kind><YYYYmmddHHMMSS>-<tail>``; the tail is random unless given (a fix passes its plan id)."""
    if kind not in KINDS:
        raise ValueError(f"unknown apply kind {kind!r}")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S")
    return f"{kind}{stamp}-{(tail or uuid.uuid4().hex)[:6]}"


def change_id(apply_id: str, seq: int) -> str:
    return f"{apply_id}-{seq:02d}"
