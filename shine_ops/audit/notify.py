"""Notifications: a Slack-compatible webhook (JSON POST, bounded retries with backoff) and SNS publish.

Sent when ``notify.when`` says so: ``change`` (a finding is new or resolved), ``fail`` (the audit did not exit
0) or ``always``. A failed notification is reported, never raised: the caller decides (``--strict-notify``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

WEBHOOK_ATTEMPTS = 4
WEBHOOK_TIMEOUT_S = 5.0
WEBHOOK_WAIT_S = 0.2  # first backoff; doubles, capped at WEBHOOK_WAIT_MAX_S
WEBHOOK_WAIT_MAX_S = 2.0
MAX_LISTED = 20  # findings named in a message; the rest are counted


class _Retryable(Exception):
    pass


@dataclass
class Delivery:
    channel: str
    target: str
    ok: bool
    detail: str
    attempts: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "target": self.target, "ok": self.ok, "detail": self.detail,
                "attempts": self.attempts}


def should_notify(when: str, *, exit_code: int, comparison: dict[str, Any]) -> bool:
    if when == "always":
        return True
    if when == "fail":
        return exit_code != 0
    return bool(comparison.get("changed"))


def _line(item: dict[str, Any]) -> str:
    return f"{item['target']}: {item['check']} [{item.get('severity')}] {item.get('summary', '')}".strip()


def message_text(doc: dict[str, Any]) -> str:
    """The human message: verdict, then new, resolved and still failing findings (target: check)."""
    s, cmp = doc["summary"], doc["comparison"]
    verdict = {0: "OK", 1: "FAILING", 2: "CONFIGURATION ERROR", 3: "INCOMPLETE"}.get(doc["exit_code"], "?")
    lines = [f"shine-ops audit {doc['audit_id']}: {verdict} - {s['targets']} target(s), {s['failing']} failing "
             f"check(s) at or above {doc['fail_on']}, {len(cmp['new'])} new, {len(cmp['resolved'])} resolved"]
    for title, items in (("New", cmp["new"]), ("Resolved", cmp["resolved"]), ("Still failing", cmp["persisting"])):
        if items:
            lines.append(f"{title}:")
            lines += [f"  - {_line(i)}" for i in items[:MAX_LISTED]]
            if len(items) > MAX_LISTED:
                lines.append(f"  ... and {len(items) - MAX_LISTED} more")
    for t in doc["targets"]:
        if t.get("error"):
            lines.append(f"Could not audit {t['name']}: {t['error']}")
    return "\n".join(lines)


def slack_payload(doc: dict[str, Any]) -> dict[str, Any]:
    """Slack incoming-webhook JSON (``text`` is what every Slack-compatible receiver reads)."""
    return {"text": message_text(doc), "username": "shine-ops",
            "shine_ops": {"audit_id": doc["audit_id"], "exit_code": doc["exit_code"], "summary": doc["summary"],
                          "new": doc["comparison"]["new"], "resolved": doc["comparison"]["resolved"],
                          "failing": [i for i in doc["comparison"]["new"] + doc["comparison"]["persisting"]]}}


def post_webhook(url: str, payload: dict[str, Any], *, attempts: int = WEBHOOK_ATTEMPTS,
                 timeout_s: float = WEBHOOK_TIMEOUT_S, wait_s: float = WEBHOOK_WAIT_S) -> Delivery:
    """POST ``payload``; retries connection errors, 429 and 5xx with exponential backoff, at most ``attempts``."""
    import requests
    from tenacity import (RetryError, Retrying, retry_if_exception_type, stop_after_attempt,
                          wait_exponential)

    tries = 0
    last = ""

    def once() -> requests.Response:
        nonlocal tries, last
        tries += 1
        try:
            resp = requests.post(url, data=json.dumps(payload, default=str).encode(),
                                 headers={"Content-Type": "application/json"}, timeout=timeout_s)
        except requests.RequestException as exc:
            last = f"{type(exc).__name__}: {exc}"
            raise _Retryable(last) from None
        if resp.status_code == 429 or resp.status_code >= 500:
            last = f"HTTP {resp.status_code}"
            raise _Retryable(last)
        return resp

    try:
        for attempt in Retrying(stop=stop_after_attempt(max(1, attempts)),
                                wait=wait_exponential(multiplier=wait_s, min=wait_s, max=WEBHOOK_WAIT_MAX_S),
                                retry=retry_if_exception_type(_Retryable), reraise=False):
            with attempt:
                resp = once()
    except RetryError:
        return Delivery("webhook", _redact(url), False, f"gave up after {tries} attempt(s): {last}", tries)
    if resp.status_code >= 400:
        return Delivery("webhook", _redact(url), False, f"HTTP {resp.status_code}: {resp.text[:200]}", tries)
    return Delivery("webhook", _redact(url), True, f"HTTP {resp.status_code}", tries)


def _redact(url: str) -> str:
    """Webhook URLs carry their secret in the path: keep scheme and host only in reports and logs."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/..." if parts.path not in ("", "/") else url


def publish_sns(aws: Any, topic_arn: str, doc: dict[str, Any]) -> Delivery:
    subject = f"shine-ops audit: exit {doc['exit_code']}, {doc['summary']['failing']} failing"[:100]
    try:
        resp = aws.call("sns", "Publish", TopicArn=topic_arn, Subject=subject, Message=message_text(doc))
    except Exception as err:  # noqa: BLE001 - reported, not raised
        return Delivery("sns", topic_arn, False, str(err))
    return Delivery("sns", topic_arn, True, f"MessageId {resp.get('MessageId')}")


def sns_aws(topic_arn: str, conn: Any) -> Any:
    """An Aws in the topic's region (the ARN names it), with the audit's default connection."""
    from shine_ops.aws import Aws, ConnectionOptions

    region = topic_arn.split(":")[3] or conn.region
    return Aws(ConnectionOptions(profile=conn.profile, region=region, endpoint_url=conn.endpoint_url))
