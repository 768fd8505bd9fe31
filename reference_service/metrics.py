"""A minimal Prometheus text-format registry (no extra dependency). Counts are per worker process."""

from __future__ import annotations

import threading

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(pairs) -> str:
    if not pairs:
        return ""
    body = ",".join(f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                    for k, v in pairs)
    return "{" + body + "}"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple, int] = {}
        self.hist: dict[tuple, list] = {}  # key -> [bucket counts..., sum, count]
        self.gauges: dict[str, tuple[str, float]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (("method", method), ("route", route), ("status", str(status)))
            self.requests[key] = self.requests.get(key, 0) + 1
            hkey = (("route", route),)
            h = self.hist.setdefault(hkey, [0] * len(LATENCY_BUCKETS) + [0.0, 0])
            for i, b in enumerate(LATENCY_BUCKETS):
                if seconds <= b:
                    h[i] += 1
            h[-2] += seconds
            h[-1] += 1

    def set_gauge(self, name: str, help_text: str, value: float) -> None:
        with self._lock:
            self.gauges[name] = (help_text, float(value))

    def render(self) -> str:
        with self._lock:
            lines = ["# HELP http_requests_total HTTP requests handled by this worker.",
                     "# TYPE http_requests_total counter"]
            for key, n in sorted(self.requests.items()):
                lines.append(f"http_requests_total{_labels(key)} {n}")
            lines += ["# HELP http_request_duration_seconds Request latency in seconds.",
                      "# TYPE http_request_duration_seconds histogram"]
            for key, h in sorted(self.hist.items()):
                for i, b in enumerate(LATENCY_BUCKETS):
                    lines.append(f"http_request_duration_seconds_bucket{_labels(key + (('le', repr(b)),))} {h[i]}")
                lines.append(f"http_request_duration_seconds_bucket{_labels(key + (('le', '+Inf'),))} {h[-1]}")
                lines.append(f"http_request_duration_seconds_sum{_labels(key)} {h[-2]:.6f}")
                lines.append(f"http_request_duration_seconds_count{_labels(key)} {h[-1]}")
            for name, (help_text, value) in sorted(self.gauges.items()):
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value:g}"]
        return "\n".join(lines) + "\n"
