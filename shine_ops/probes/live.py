"""The live evidence a diagnosis gathers before its (pure) checks run: DNS, then HTTP through the domain.

One function for ``diagnose``, ``map``, ``watch`` and ``fix --wait`` so the budget rule is the same everywhere:
the probes share one time budget, DNS may use up to half of it and HTTP gets the rest; off (``--no-probe``),
each probe says so and the checks that need it skip.
"""

from __future__ import annotations

import time
from typing import Any, Callable


def live_probes(settings: Any, sandbox_state: dict | None, *, enabled: bool, timeout_s: float = 10.0,
                resolver: str | None = None) -> Callable[[Any, Any], dict[str, Any]]:
    """The ``probes`` function ``engine.runner.run`` takes."""

    def probes(snap: Any, path: Any) -> dict[str, Any]:
        from shine_ops.probes.dns import names_to_resolve, probe_dns
        from shine_ops.probes.service import probe_service

        started = time.monotonic()
        dns = probe_dns(path.domain, names_to_resolve(snap, path), resolver=resolver, timeout_s=timeout_s / 2,
                        enabled=enabled, sandbox_state=sandbox_state)
        left = max(0.1, timeout_s - (time.monotonic() - started))
        return {"dns": dns, "service": probe_service(path.domain, settings, timeout_s=left, enabled=enabled,
                                                     sandbox_state=sandbox_state)}

    return probes
