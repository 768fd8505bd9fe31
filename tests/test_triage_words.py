"""Triage's context notes say in our words why a piece could not be read; the error stays in the context."""

from __future__ import annotations

from shine_ops.errors import AwsCallError, EndpointUnreachable
from shine_ops.triage import error_evidence, unavailable_words


def test_an_emulator_without_cloudtrail_is_said_without_its_web_page():
    exc = AwsCallError("cloudtrail.LookupEvents", "500", "<!doctype html>\n<html lang=en>\n<title>500 Internal...")
    words = unavailable_words(exc)
    assert words == ("this endpoint does not offer cloudtrail.LookupEvents (it answered 500 with a web page, not an "
                     "AWS response)")
    assert "<" not in words
    assert error_evidence(exc) == {"error_class": "AwsCallError", "code": "500",
                                   "error": "cloudtrail.LookupEvents failed: 500: <!doctype html>"}


def test_denied_missing_and_unreachable_context():
    denied = AwsCallError("logs.FilterLogEvents", "AccessDeniedException", "no", iam_action="logs:FilterLogEvents")
    assert unavailable_words(denied) == "logs.FilterLogEvents was denied (grant logs:FilterLogEvents to read it)"
    missing = AwsCallError("logs.FilterLogEvents", "ResourceNotFoundException", "The specified log group does not exist.")
    assert unavailable_words(missing) == "logs.FilterLogEvents found nothing to read (ResourceNotFoundException)"
    assert unavailable_words(EndpointUnreachable("cannot reach x")) == "the endpoint could not be reached"
    assert unavailable_words(ValueError("boom")) == "it could not be read (ValueError)"
