"""The broken Shine backend as recorded (FM-15, FM-16, FM-17, FM-21), for sandbox scenarios.

It answers the way ``application_hare_run_v6_fixed.py`` did: ``/health`` is plain text ``OK``; ``/ready`` is
always ready; there is no ``/api/v4/face/detect`` (404); analysis answers 200 under the key ``results``
(the frontend reads ``result``) and with no CORS headers. Binds HOST/PORT like the reference service.
Standard library only: it is scaffolding, not a product.
"""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *_args) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: dict) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/health":
            return self._send(200, b"OK", "text/plain")
        if self.path in ("/ready", "/api/health"):
            return self._json(200, {"status": "ready", "message": "Service is ready"})
        return self._json(404, {"error": "Endpoint not found"})

    def do_OPTIONS(self) -> None:  # noqa: N802  (no CORS: the browser blocks the frontend)
        self._send(200, b"", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.path == "/api/v6/skin/analyze-hare-run":
            return self._json(200, {"success": True, "analysis_type": "Hare Run V6 Enhanced",
                                    "results": {"health_score": 50}})
        return self._json(404, {"error": "Endpoint not found"})


def main() -> None:
    server = ThreadingHTTPServer((os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8000"))), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
