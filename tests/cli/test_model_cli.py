"""``shine-ops model push`` / ``model verify`` against in-process moto S3."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference_service"))
from rs_helpers import PKG, mocked_s3_bucket, run_cli  # noqa: E402

MODEL = PKG / "models" / "hare_run_face.keras"


@pytest.fixture()
def s3(monkeypatch):
    with mocked_s3_bucket(monkeypatch, "shine-models") as client:
        yield client


def test_push_then_verify(s3, capsys):
    code, out, err = run_cli(["model", "push", str(MODEL), "s3://shine-models/prod/face.keras", "--region", "us-east-1"],
                             capsys)
    assert code == 0, err
    pushed = json.loads(out)
    digest = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    assert pushed["sha256"] == digest and pushed["card"] == "s3://shine-models/prod/face.card.json"
    head = s3.head_object(Bucket="shine-models", Key="prod/face.keras")
    assert head["Metadata"]["sha256"] == digest
    code, out, _ = run_cli(["model", "verify", "s3://shine-models/prod/face.keras"], capsys)
    assert code == 0 and json.loads(out)["ok"] is True


def test_verify_detects_corruption_and_missing_metadata(s3, capsys):
    data = MODEL.read_bytes()
    s3.put_object(Bucket="shine-models", Key="bad.keras", Body=data[:-1] + bytes([data[-1] ^ 0xFF]),
                  Metadata={"sha256": hashlib.sha256(data).hexdigest()})
    code, out, _ = run_cli(["model", "verify", "s3://shine-models/bad.keras"], capsys)
    assert code == 1 and "do not match" in json.loads(out)["problem"]
    s3.put_object(Bucket="shine-models", Key="nometa.keras", Body=data)
    code, out, _ = run_cli(["model", "verify", "s3://shine-models/nometa.keras"], capsys)
    assert code == 1 and "no sha256" in json.loads(out)["problem"]


def test_model_usage_and_missing_object(s3, capsys, tmp_path):
    assert run_cli(["model", "push", str(tmp_path / "nope.keras"), "s3://shine-models/x.keras"], capsys)[0] == 2
    assert run_cli(["model", "push", str(MODEL), "https://example.com/x"], capsys)[0] == 2
    assert run_cli(["model", "verify", "s3://bucket-only"], capsys)[0] == 2
    code, _, err = run_cli(["model", "verify", "s3://shine-models/absent.keras"], capsys)
    assert code == 3 and "HeadObject" in err and "Traceback" not in err


def test_push_honours_endpoint_url(capsys, monkeypatch):
    """--endpoint-url is used: a closed loopback port fails as 'cannot complete' (3), not a traceback."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    code, _, err = run_cli(["model", "verify", "s3://b/k.keras", "--endpoint-url", "http://127.0.0.1:9",
                            "--region", "us-east-1"], capsys)
    assert code == 3 and "127.0.0.1:9" in err
