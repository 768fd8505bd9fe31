"""Ctrl-C during a concurrent collection: the reads not yet made are not made.

Why: Python delivers KeyboardInterrupt to the main thread only. Without this, the worker threads of a collection
round go on making every call they were given (with retries and backoff) and the process cannot exit until the
round is done: on a slow or throttled account, Ctrl-C seemed to hang for tens of seconds. ``run_all`` sets the
flag when its wait is interrupted, and every AWS call checks it before it is sent (botocore's before-call event),
so a worker stops at its next call.
"""

from __future__ import annotations

import threading

_STOP = threading.Event()


class Stopped(BaseException):
    """The run was interrupted (Ctrl-C): raised in a worker thread instead of making another AWS call. A
    BaseException, like KeyboardInterrupt, so no ``except Exception`` turns it into a finding."""


def stop() -> None:
    _STOP.set()


def stopping() -> bool:
    return _STOP.is_set()


def check() -> None:
    if _STOP.is_set():
        raise Stopped("interrupted")


def reset() -> None:
    """For a process that goes on after an interrupt it handled (tests running the CLI in process)."""
    _STOP.clear()
