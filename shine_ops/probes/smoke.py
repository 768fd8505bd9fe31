"""Smoke probes of a deployed reference service: health, readiness, face detection, analysis, CORS.

``run_smoke`` returns ``(check_id, Outcome)`` pairs for ``smoke.health``, ``smoke.face-detect``,
``smoke.analyze`` and ``cors.allows-frontend-origin``. All HTTP calls share one time budget
(``timeout_s``); an unreachable service is a failing ``smoke.health`` within it (the other checks are then
``skip``), never an exception. The photo is scikit-image's astronaut (one face near [177, 66, 95, 95]),
shipped base64-encoded in ``reference_service/sample_astronaut.json``.

Imports of ``requests`` happen inside the functions (CLI start-up stays fast).
"""

from __future__ import annotations

import json
import time
from typing import Any

from shine_ops.engine.finding import Outcome

CHECKS = {
    "smoke.health": ("The service answers /health and is ready", "high"),
    "smoke.face-detect": ("Face detection finds the face in a known photo", "high"),
    "smoke.analyze": ("Skin analysis returns the documented result schema", "high"),
    "cors.allows-frontend-origin": ("CORS preflight allows the frontend's origin", "medium"),
}
DETECT_PATH = "/api/v4/face/detect"
ANALYZE_PATH = "/api/v6/skin/analyze-hare-run"
MIN_IOU = 0.5


def load_sample() -> dict:
    """The bundled astronaut photo: {'image_data': base64 JPEG, 'expected_faces': [[x, y, w, h]], ...}."""
    from importlib import resources

    return json.loads(resources.files("reference_service").joinpath("sample_astronaut.json").read_text())


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    union = aw * ah + bw * bh - ix * iy
    return ix * iy / union if union else 0.0


class _Budget:
    def __init__(self, seconds: float) -> None:
        self.total = seconds
        self.deadline = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


class _Unreachable(Exception):
    pass


class Failure(str):
    """Why a call got no answer, in our words (the string itself, what a summary says), with the underlying
    error's class and text kept for the evidence: ``{"error_class": ..., "error": ...}``."""

    error_class: str
    error: str

    def __new__(cls, words: str, error_class: str, error: str) -> "Failure":
        obj = super().__new__(cls, words)
        obj.error_class, obj.error = error_class, error
        return obj

    def evidence(self) -> dict[str, str]:
        return {"error_class": self.error_class, "error": self.error}


def describe_failure(exc: BaseException, waited_s: float | None = None) -> Failure:
    """A requests/urllib3 exception as one clause a tired on-call engineer reads ("the name does not resolve"),
    never the library's ``HTTPSConnectionPool(host=..., port=443): Max retries exceeded ...`` text."""
    import requests

    chain = _causes(exc)
    names = {type(e).__name__ for e in chain}
    root = chain[-1]
    if names & {"NameResolutionError", "gaierror"} or "Name or service not known" in str(exc):
        words = "the name does not resolve (no DNS answer for the host)"
    elif isinstance(exc, requests.exceptions.SSLError) or names & {"SSLError", "SSLCertVerificationError"}:
        words = "the TLS handshake failed (certificate or protocol)"
    elif isinstance(exc, requests.exceptions.ConnectTimeout) or names & {"ConnectTimeoutError"}:
        words = "the connection timed out (a firewall or security group may drop it)"
    elif isinstance(exc, requests.exceptions.Timeout):
        words = "no answer in time" + (f" ({waited_s:.1f} s)" if waited_s is not None else "")
    elif names & {"ConnectionRefusedError"} or "Connection refused" in str(exc):
        words = "the connection was refused (nothing listens there)"
    elif names & {"ConnectionResetError", "RemoteDisconnected", "ProtocolError"}:
        words = "the connection was closed before an answer"
    elif isinstance(exc, requests.exceptions.TooManyRedirects):
        words = "it redirects in a loop"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        words = "the connection failed"
    else:
        words = "the request failed"
    text = str(exc)
    cls = "NameResolutionError" if "NameResolutionError" in names else type(root).__name__
    return Failure(words, cls, text if len(text) <= 300 else text[:297] + "...")


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what caused it, outermost first (requests wraps urllib3, which wraps the socket's)."""
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out and len(out) < 8:
        out.append(cur)
        nxt = cur.__cause__ or cur.__context__
        if nxt is None and cur.args and isinstance(cur.args[0], BaseException):
            nxt = cur.args[0]
        if nxt is None and hasattr(cur, "reason") and isinstance(cur.reason, BaseException):
            nxt = cur.reason
        cur = nxt
    return out


def _call(session, method: str, url: str, budget: _Budget, **kwargs):
    """One HTTP call within the shared budget: (response or None, latency_ms, Failure or None)."""
    import requests

    left = budget.remaining()
    if left <= 0.05:
        return None, 0.0, Failure(f"the probe budget of {budget.total:g} s ran out first", "ProbeBudgetExhausted",
                                  f"probe budget of {budget.total:g} s exhausted")
    t0 = time.perf_counter()
    try:
        resp = session.request(method, url, timeout=(min(left, 5.0), left), allow_redirects=False, **kwargs)
        return resp, round((time.perf_counter() - t0) * 1000, 1), None
    except requests.exceptions.RequestException as exc:
        return None, round((time.perf_counter() - t0) * 1000, 1), describe_failure(exc, left)


def _failed(evidence: dict[str, Any], err: Failure | None) -> None:
    """Keep the underlying error (class and text) in the evidence, beside the summary's words."""
    if err is not None:
        evidence.update(err.evidence())


def _json(resp) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def check_health(session, base: str, budget: _Budget) -> tuple[Outcome, bool]:
    """Returns the outcome and whether the service is reachable at all."""
    url = base + "/health"
    resp, ms, err = _call(session, "GET", url, budget)
    evidence: dict[str, Any] = {"health": {"url": url, "latency_ms": ms}}
    if resp is None:
        _failed(evidence["health"], err)
        return Outcome("fail", f"The health endpoint {url} cannot be reached: {err}.", [url],
                       expected="GET /health answers 200 JSON", actual=str(err or ""), evidence=evidence), False
    evidence["health"].update(status=resp.status_code)
    body = _json(resp)
    if resp.status_code != 200:
        return Outcome("fail", f"GET /health answered {resp.status_code}, not 200.", [url],
                       expected="200", actual=str(resp.status_code), evidence=evidence), True
    ready_url = base + "/ready"
    r2, ms2, err2 = _call(session, "GET", ready_url, budget)
    evidence["ready"] = {"url": ready_url, "latency_ms": ms2}
    evidence["latency_ms"] = round(ms + ms2, 1)
    if r2 is None:
        _failed(evidence["ready"], err2)
        return Outcome("fail", f"/health answers but /ready does not: {err2}.", [url, ready_url],
                       expected="GET /ready answers 200", actual=str(err2 or ""), evidence=evidence), True
    rbody = _json(r2) or {}
    evidence["ready"].update(status=r2.status_code, state=rbody.get("status"), model=rbody.get("model"))
    if r2.status_code == 503:
        return Outcome("fail", f"The service is alive but not ready (/ready 503, state {rbody.get('status')!r}).",
                       [url, ready_url], expected="/ready 200", actual="503", evidence=evidence), True
    if r2.status_code != 200:
        return Outcome("warn", f"/health is fine but /ready answered {r2.status_code}.", [url, ready_url],
                       expected="/ready 200", actual=str(r2.status_code), evidence=evidence), True
    if not isinstance(body, dict):
        return Outcome("warn", "/health answers 200 but not with JSON (old plain-text health check).",
                       [url], expected="JSON body", actual=resp.text[:60], evidence=evidence), True
    if rbody.get("status") == "degraded":
        return Outcome("warn", "The service is up but degraded: its face model did not load, so detections "
                       "are unverified.", [url, ready_url], expected="ready", actual="degraded",
                       evidence=evidence), True
    return Outcome("pass", f"/health and /ready answer 200 ({evidence['latency_ms']:.0f} ms).", [url, ready_url],
                   expected="200, ready", actual=f"200, {rbody.get('status', 'ready')}", evidence=evidence), True


def _json_200(resp, err: Failure | None, what: str, path: str, url: str, exp_text: str,
              evidence: dict[str, Any]) -> tuple[dict, Outcome | None]:
    """The JSON object a POST answered with 200, or the failing outcome that says why there is none."""
    if resp is None:
        _failed(evidence, err)
        return {}, Outcome("fail", f"{what} did not answer: {err}.", [url], expected=exp_text, actual=str(err or ""),
                           evidence=evidence)
    evidence["status"] = resp.status_code
    body = _json(resp)
    if resp.status_code != 200 or not isinstance(body, dict):
        detail = (body or {}).get("error") if isinstance(body, dict) else resp.text[:120]
        return {}, Outcome("fail", f"POST {path} answered {resp.status_code}: {detail}.", [url],
                           expected=exp_text, actual=f"{resp.status_code} {detail}", evidence=evidence)
    return body, None


def check_face_detect(session, base: str, budget: _Budget, sample: dict) -> Outcome:
    url = base + DETECT_PATH
    expected = sample["expected_faces"][0]
    resp, ms, err = _call(session, "POST", url, budget, json={"image_data": sample["image_data"]})
    evidence: dict[str, Any] = {"url": url, "latency_ms": ms, "expected_face": expected}
    exp_text = f"200 with a face near {expected} and a confidence in [0, 1]"
    body, failed = _json_200(resp, err, "Face detection", DETECT_PATH, url, exp_text, evidence)
    if failed:
        return failed
    faces = body.get("faces")
    if not isinstance(faces, list):
        return Outcome("fail", f"The detection response has no 'faces' list (keys: {sorted(body)[:8]}).", [url],
                       expected=exp_text, actual="no faces list", evidence=evidence)
    boxes = []
    for f in faces:
        b = (f or {}).get("bounds") if isinstance(f, dict) else None
        if isinstance(b, dict) and all(isinstance(b.get(k), (int, float)) for k in ("x", "y", "width", "height")):
            boxes.append(([b["x"], b["y"], b["width"], b["height"]], f.get("confidence")))
    evidence["faces"] = [{"bounds": bx, "confidence": c} for bx, c in boxes]
    best = max(boxes, key=lambda bc: iou(bc[0], expected), default=None)
    if best is None or iou(best[0], expected) < MIN_IOU:
        return Outcome("fail", f"Face detection answered but missed the known face ({len(faces)} face(s) found).",
                       [url], expected=exp_text, actual=json.dumps(evidence["faces"])[:200], evidence=evidence)
    evidence["iou"] = round(iou(best[0], expected), 3)
    conf = best[1]
    if conf is None or body.get("verified") is False:
        return Outcome("warn", "The face is found but unverified (the model is not loaded; confidence is null).",
                       [url], expected=exp_text, actual=f"bounds {best[0]}, confidence {conf}", evidence=evidence)
    if not isinstance(conf, (int, float)) or not 0.0 <= conf <= 1.0:
        return Outcome("fail", f"The face's confidence {conf!r} is not a probability.", [url], expected=exp_text,
                       actual=repr(conf), evidence=evidence)
    return Outcome("pass", f"Found the known face (IoU {evidence['iou']:.2f}, confidence {conf:.2f}) in {ms:.0f} ms.",
                   [url], expected=exp_text, actual=f"bounds {best[0]}, confidence {conf}", evidence=evidence)


def check_analyze(session, base: str, budget: _Budget, sample: dict) -> Outcome:
    url = base + ANALYZE_PATH
    # The Shine Next.js proxy sends the key 'image' with a data URL.
    payload = {"image": "data:image/jpeg;base64," + sample["image_data"]}
    resp, ms, err = _call(session, "POST", url, budget, json=payload)
    evidence: dict[str, Any] = {"url": url, "latency_ms": ms}
    exp_text = "200 {'result': {face, measurements: {name: {value, range, unit}}}}"
    body, failed = _json_200(resp, err, "Analysis", ANALYZE_PATH, url, exp_text, evidence)
    if failed:
        return failed
    result = body.get("result")
    if not isinstance(result, dict) or not result:
        hint = " (it answers 'results', not 'result')" if "results" in body else ""
        return Outcome("fail", f"Analysis answered 200 without a 'result' object{hint}: the wrong app may be running.",
                       [url], expected=exp_text, actual=json.dumps(body)[:200], evidence=evidence)
    problems = []
    meas = result.get("measurements")
    if not isinstance(meas, dict) or not meas:
        problems.append("no measurements")
    else:
        for name, m in meas.items():
            if not isinstance(m, dict) or not isinstance(m.get("value"), (int, float)):
                problems.append(f"{name}: no numeric value")
                continue
            rng = m.get("range")
            if isinstance(rng, list) and len(rng) == 2:
                lo, hi = rng
                if (lo is not None and m["value"] < lo) or (hi is not None and m["value"] > hi):
                    problems.append(f"{name}={m['value']} outside {rng}")
    face = result.get("face") if isinstance(result.get("face"), dict) else {}
    b = face.get("bounds") or {}
    if not all(isinstance(b.get(k), (int, float)) for k in ("x", "y", "width", "height")):
        problems.append("no face bounds")
    evidence["measurements"] = {k: (v or {}).get("value") for k, v in (meas or {}).items()} if isinstance(meas, dict) else None
    if problems:
        return Outcome("fail", f"Analysis answered but its result breaks the schema: {'; '.join(problems[:3])}.",
                       [url], expected=exp_text, actual="; ".join(problems), evidence=evidence)
    if result.get("verified") is False:
        return Outcome("warn", "Analysis works but on an unverified face (the model is not loaded).", [url],
                       expected=exp_text, actual="verified: false", evidence=evidence)
    return Outcome("pass", f"Analysis returned {len(meas)} measurements in the documented schema in {ms:.0f} ms.",
                   [url], expected=exp_text, actual=f"{len(meas)} measurements", evidence=evidence)


def check_cors(session, base: str, budget: _Budget, origin: str | None) -> Outcome:
    url = base + DETECT_PATH
    if not origin:
        return Outcome("skip", "No --origin given: the frontend's origin is unknown, CORS not checked.", [url])
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "content-type"}
    resp, ms, err = _call(session, "OPTIONS", url, budget, headers=headers)
    evidence: dict[str, Any] = {"url": url, "origin": origin, "latency_ms": ms}
    expected = f"preflight allows origin {origin}, method POST, header Content-Type"
    if resp is None:
        _failed(evidence, err)
        return Outcome("fail", f"The CORS preflight did not answer: {err}.", [url], expected=expected,
                       actual=str(err or ""), evidence=evidence)
    allow_origin = resp.headers.get("Access-Control-Allow-Origin")
    allow_methods = resp.headers.get("Access-Control-Allow-Methods", "")
    allow_headers = resp.headers.get("Access-Control-Allow-Headers", "")
    evidence.update(status=resp.status_code, allow_origin=allow_origin, allow_methods=allow_methods,
                    allow_headers=allow_headers)
    actual = f"{resp.status_code}, Allow-Origin {allow_origin!r}, Allow-Methods {allow_methods!r}"
    if resp.status_code >= 400 or allow_origin not in (origin, "*"):
        return Outcome("fail", f"The browser would block {origin}: the preflight does not allow that origin.",
                       [url], expected=expected, actual=actual, evidence=evidence)
    methods = {m.strip().upper() for m in allow_methods.split(",") if m.strip()}
    hdrs = {h.strip().lower() for h in allow_headers.split(",") if h.strip()}
    if methods and "POST" not in methods and "*" not in methods:
        return Outcome("fail", f"The preflight allows {origin} but not POST.", [url], expected=expected,
                       actual=actual, evidence=evidence)
    if "content-type" not in hdrs and "*" not in hdrs:
        return Outcome("fail", f"The preflight allows {origin} but not the Content-Type header.", [url],
                       expected=expected, actual=actual, evidence=evidence)
    return Outcome("pass", f"The preflight allows {origin} to POST JSON.", [url], expected=expected, actual=actual,
                   evidence=evidence)


def run_smoke(base_url: str, *, origin: str | None = None, timeout_s: float = 10.0,
              session=None) -> list[tuple[str, Outcome]]:
    """Runs every smoke check within ``timeout_s`` in total; never raises for network problems."""
    import requests

    base = base_url.rstrip("/")
    own = session is None
    session = session or requests.Session()
    budget = _Budget(timeout_s)
    try:
        health, reachable = check_health(session, base, budget)
        out = [("smoke.health", health)]
        if not reachable:
            why = "skipped: the service could not be reached (see smoke.health)"
            out += [("smoke.face-detect", Outcome("skip", f"Face detection {why}.", [base + DETECT_PATH])),
                    ("smoke.analyze", Outcome("skip", f"Analysis {why}.", [base + ANALYZE_PATH])),
                    ("cors.allows-frontend-origin",
                     Outcome("skip", f"CORS {why}." if origin else "No --origin given: CORS not checked.",
                             [base + DETECT_PATH]))]
            return out
        sample = load_sample()
        out.append(("smoke.face-detect", check_face_detect(session, base, budget, sample)))
        out.append(("smoke.analyze", check_analyze(session, base, budget, sample)))
        out.append(("cors.allows-frontend-origin", check_cors(session, base, budget, origin)))
        return out
    finally:
        if own:
            session.close()
