"""The progress display of long runs: drawn on a terminal only, for enough items, never on a pipe."""

from __future__ import annotations

import io

from shine_ops.progress import MIN_ITEMS, ProgressBar, wanted


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_is_drawn_on_a_terminal_for_a_long_run_and_counts_every_item(monkeypatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    stream = Tty()
    with ProgressBar(MIN_ITEMS, "diagnosing", stream=stream) as bar:
        for i in range(MIN_ITEMS):
            bar.advance(f"prod/svc-{i}")
    assert bar.done == MIN_ITEMS
    assert "diagnosing" in stream.getvalue()


def test_no_bar_on_a_pipe_a_dumb_terminal_or_a_short_run(monkeypatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    assert not wanted(100, io.StringIO())  # redirected: stderr keeps plain notes only
    assert not wanted(MIN_ITEMS - 1, Tty())
    monkeypatch.setenv("TERM", "dumb")
    assert not wanted(100, Tty())
    pipe = io.StringIO()
    with ProgressBar(100, "auditing", stream=pipe) as bar:
        bar.advance("x")
    assert pipe.getvalue() == "" and bar.done == 1
