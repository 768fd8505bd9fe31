"""The sandbox's state file: where a running sandbox listens, so every command can find it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def state_dir() -> Path:
    from shine_ops.config import state_dir as configured

    return configured()


def state_file() -> Path:
    return state_dir() / "sandbox.json"


def log_file() -> Path:
    return state_dir() / "sandbox.log"


def read_state() -> dict[str, Any] | None:
    try:
        return json.loads(state_file().read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_state(data: dict[str, Any]) -> None:
    d = state_dir()
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / f".sandbox.json.{os.getpid()}"
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(state_file())  # atomic: readers never see half a file


def clear_state(pid: int | None = None) -> None:
    st = read_state()
    if st is None or pid is None or st.get("pid") == pid:
        try:
            state_file().unlink()
        except FileNotFoundError:
            pass


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (exited, not yet reaped) still answers kill(0): look at its state.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True
