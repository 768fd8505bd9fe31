"""Running independent reads at once, without changing which reads are made.

Why: from a laptop an AWS call takes 50-150 ms (docs/aws-behaviour.md section 9), so a collection made of sequential
calls costs their sum. The collectors issue every call whose inputs are known together and wait for the round
to finish before planning the next one. Three rules keep that safe and exact:

- Callers plan a round from what is already known and apply its results in the order they planned it, so the
  snapshot (its dicts' order included) and the calls made are the same whatever order the answers arrive in.
- ``run_all`` waits for every callable it started before it returns or raises, so no read outlives its round.
- Each ``run_all`` has threads of its own (a worker waiting for its own round never starves another round).
  How many AWS calls are in flight at once is bounded per API by ``shine_ops.aws.Aws``, not here.

``SHINE_OPS_WORKERS=1`` runs everything one at a time in the calling thread (the same calls, in plan order): the
tests compare both modes call for call.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Hashable, Iterable, Sequence, TypeVar

from shine_ops import stopping

T = TypeVar("T")
R = TypeVar("R")

WORKERS_ENV = "SHINE_OPS_WORKERS"
DEFAULT_WORKERS = 8  # calls in flight per API, and threads per round; botocore's connection pool holds 10


def workers() -> int:
    """How many reads run at once (``SHINE_OPS_WORKERS``; 1 turns concurrency off). A bad value is a usage
    error, never a silent default."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if not raw:
        return DEFAULT_WORKERS
    try:
        n = int(raw)
    except ValueError:
        from shine_ops.errors import UsageError

        raise UsageError(f"{WORKERS_ENV}={raw!r} is not a whole number") from None
    if n < 1:
        from shine_ops.errors import UsageError

        raise UsageError(f"{WORKERS_ENV} must be at least 1")
    return n


def run_all(fns: Sequence[Callable[[], T]], limit: int | None = None) -> list[T]:
    """Call every ``fns`` (at most ``limit`` at once, ``workers()`` by default) and return their results in order.

    Every call finishes before this returns; if any raised, the first failure in ``fns`` order is raised then
    (one at a time, the first failure stops the rest, as sequential code would)."""
    width = min(len(fns), limit if limit is not None else workers())
    if workers() == 1 or width <= 1:
        return [fn() for fn in fns]
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="shine-ops-read")
    try:
        futures = [pool.submit(fn) for fn in fns]
        for f in futures:
            f.exception()  # wait for all: no read outlives its round
    except KeyboardInterrupt:  # Ctrl-C: no new call anywhere (shine_ops.stopping), queued reads dropped
        stopping.stop()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [f.result() for f in futures]  # raises the first failure, in plan order


def each(fn: Callable[[T], R], items: Iterable[T], limit: int | None = None) -> list[R]:
    """``fn`` over ``items`` at once (see ``run_all``), results in ``items`` order."""
    return run_all([(lambda item=item: fn(item)) for item in items], limit)


def together(*fns: Callable[[], Any]) -> list[Any]:
    """Independent lanes of a collection, one thread each (a lane may wait for an earlier lane's ``Later``)."""
    return run_all(list(fns), limit=max(1, len(fns)))


class Later:
    """A value one lane produces and a later lane waits for (or the failure that stopped the first lane)."""

    def __init__(self) -> None:
        self._future: Future = Future()

    def produce(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` and publish its result (or its failure, which is raised here too)."""
        try:
            value = fn()
        except BaseException as exc:
            self._future.set_exception(exc)
            raise
        self._future.set_result(value)
        return value

    def get(self) -> Any:
        return self._future.result()


class Once:
    """Per-key results computed once, however many threads ask at the same time (the others wait for it).

    A failure is kept too: every later asker gets the same error, as each would have from its own call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[Hashable, Future] = {}

    def get(self, key: Hashable, fn: Callable[[], T]) -> T:
        with self._lock:
            future = self._futures.get(key)
            mine = future is None
            if mine:
                future = self._futures[key] = Future()
        assert future is not None
        if mine:
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to every asker below
                future.set_exception(exc)
        return future.result()

    def done(self, key: Hashable) -> bool:
        with self._lock:
            f = self._futures.get(key)
        return f is not None and f.done()
