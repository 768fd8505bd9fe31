"""A progress display for long runs (``diagnose --all``, ``audit`` of many targets): a rich bar on stderr.

Only on a terminal and only for runs of at least ``MIN_ITEMS`` items: piped or redirected output (CI, a cron
job, a test) gets no bar, so stderr keeps holding plain notes and stdout only the report. Thread-safe: items
finish in worker threads.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, TextIO

MIN_ITEMS = 5


def wanted(total: int, stream: TextIO | None = None) -> bool:
    """A bar for ``total`` items on ``stream`` (stderr): a terminal that can draw it, and enough items."""
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return (total >= MIN_ITEMS and bool(isatty and isatty()) and os.environ.get("TERM", "") != "dumb")


class ProgressBar:
    """``with ProgressBar(total, "diagnosing") as bar: ... bar.advance("prod/api")``; silent when not ``wanted``."""

    def __init__(self, total: int, what: str, stream: TextIO | None = None) -> None:
        self.total, self.what = total, what
        self.stream = stream or sys.stderr
        self._bar: Any = None
        self._task: Any = None
        self._lock = threading.Lock()
        self.done = 0

    def __enter__(self) -> "ProgressBar":
        if wanted(self.total, self.stream):
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[last]}"),
                                 console=Console(file=self.stream), transient=True, redirect_stdout=False)
            self._bar.start()
            self._task = self._bar.add_task(self.what, total=self.total, last="")
        return self

    def advance(self, label: str = "") -> None:
        with self._lock:
            self.done += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, last=label)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
