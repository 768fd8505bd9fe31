"""Model store: local path, S3 (moto in-process), sha256 refusal, no partial files, degraded mode."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil

import pytest

from rs_helpers import PKG, mocked_s3_bucket

MODEL = PKG / "models" / "hare_run_face.keras"
CARD = PKG / "models" / "hare_run_face.card.json"


@pytest.fixture()
def aws(monkeypatch):
    with mocked_s3_bucket(monkeypatch, "models") as client:
        yield client


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_shipped_card_matches_shipped_model():
    card = json.loads(CARD.read_text())
    assert card["sha256"] == sha(MODEL.read_bytes())
    assert card["size_bytes"] == MODEL.stat().st_size < 100_000  # tens of KB
    assert card["input_shape"] == [25, 25, 1] and card["labels"] == ["non_face", "face"]
    for key in ("preprocessing", "held_out", "data_provenance"):
        assert card[key]


def test_local_path_with_card(tmp_path):
    from reference_service.model_store import resolve

    shutil.copy(MODEL, tmp_path / "m.keras")
    shutil.copy(CARD, tmp_path / "m.card.json")
    r = resolve(str(tmp_path / "m.keras"))
    assert r.source == "local" and r.sha256 == sha(MODEL.read_bytes()) and r.card["name"]


def test_local_path_refused_on_mismatch_or_no_hash(tmp_path):
    from reference_service.model_store import ModelError, resolve

    shutil.copy(MODEL, tmp_path / "m.keras")
    with pytest.raises(ModelError, match="no sha256"):
        resolve(str(tmp_path / "m.keras"))
    assert resolve(str(tmp_path / "m.keras"), expected_sha256=sha(MODEL.read_bytes())).sha256
    with pytest.raises(ModelError, match="mismatch"):
        resolve(str(tmp_path / "m.keras"), expected_sha256="0" * 64)
    with pytest.raises(ModelError, match="not found"):
        resolve(str(tmp_path / "missing.keras"))
    with pytest.raises(ModelError, match="scheme"):
        resolve("https://example.com/m.keras")


def test_s3_download_verified_atomic_and_cached(aws, tmp_path):
    from reference_service.model_store import resolve

    data = MODEL.read_bytes()
    aws.put_object(Bucket="models", Key="prod/face.keras", Body=data, Metadata={"sha256": sha(data)})
    cache = tmp_path / "cache"
    r = resolve("s3://models/prod/face.keras", cache_dir=cache, s3_client=aws)
    assert r.source == "s3" and not r.cached and r.path.read_bytes() == data
    assert sorted(p.name for p in cache.iterdir()) == [f"{sha(data)}.keras"]
    again = resolve("s3://models/prod/face.keras", cache_dir=cache, s3_client=aws)
    assert again.cached and again.path == r.path


def test_s3_corrupted_object_refused_and_no_partial_file(aws, tmp_path):
    from reference_service.model_store import ModelError, resolve

    data = MODEL.read_bytes()
    corrupted = data[:-100] + b"\0" * 100
    aws.put_object(Bucket="models", Key="bad.keras", Body=corrupted, Metadata={"sha256": sha(data)})
    cache = tmp_path / "cache"
    with pytest.raises(ModelError, match="sha256 mismatch"):
        resolve("s3://models/bad.keras", cache_dir=cache, s3_client=aws)
    assert list(cache.iterdir()) == []  # neither the temp file nor a final file is left


def test_s3_without_metadata_uses_card_or_refuses(aws, tmp_path):
    from reference_service.model_store import ModelError, resolve

    data = MODEL.read_bytes()
    aws.put_object(Bucket="models", Key="nometa.keras", Body=data)
    with pytest.raises(ModelError, match="no sha256"):
        resolve("s3://models/nometa.keras", cache_dir=tmp_path, s3_client=aws)
    aws.put_object(Bucket="models", Key="nometa.card.json", Body=CARD.read_bytes())
    assert resolve("s3://models/nometa.keras", cache_dir=tmp_path, s3_client=aws).sha256 == sha(data)
    with pytest.raises(ModelError, match="cannot read"):
        resolve("s3://models/absent.keras", cache_dir=tmp_path, s3_client=aws)


@pytest.mark.service
def test_service_loads_model_from_s3(aws, tmp_path, monkeypatch):
    from reference_service.app import create_app
    from reference_service.state import ServiceState

    data = MODEL.read_bytes()
    aws.put_object(Bucket="models", Key="face.keras", Body=data, Metadata={"sha256": sha(data)})
    monkeypatch.setenv("MODEL_CACHE_DIR", str(tmp_path))
    st = ServiceState(model_uri="s3://models/face.keras", s3_client=aws)
    st.load()
    assert st.status == "ready" and st.model_info["source"] == "s3" and st.model_info["sha256"] == sha(data)
    body = create_app(state=st, start_loading=False).test_client().get("/ready").json
    assert body["status"] == "ready" and body["model"]["source"] == "s3"


@pytest.mark.service
def test_degraded_mode_with_garbage_model(tmp_path, astronaut_b64):
    """MODEL_URI pointing at garbage: /ready 200 degraded, detection still answers, unverified."""
    from reference_service.app import create_app
    from reference_service.state import ServiceState

    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"this is not a keras file")
    st = ServiceState(model_uri=str(garbage), model_sha256=sha(garbage.read_bytes()))
    app = create_app(state=st.start(), start_loading=False)
    assert st.wait(30)
    c = app.test_client()
    r = c.get("/ready")
    assert r.status_code == 200 and r.json["status"] == "degraded" and r.json["model"]["error"]
    d = c.post("/api/v4/face/detect", json={"image_data": astronaut_b64}).json
    assert d["verified"] is False and d["warning"] and d["faces"]
    assert all(f["confidence"] is None for f in d["faces"])
    a = c.post("/api/v6/skin/analyze-hare-run", json={"image_data": astronaut_b64})
    assert a.status_code == 200 and a.json["result"]["verified"] is False
    assert "model_degraded 1" in c.get("/metrics").get_data(as_text=True)


@pytest.mark.service
def test_degraded_when_sha_mismatch_and_when_s3_unreachable(tmp_path, monkeypatch):
    from reference_service.state import ServiceState

    st = ServiceState(model_uri=str(MODEL), model_sha256="f" * 64)
    st.load()
    assert st.status == "degraded" and "mismatch" in st.model_error
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # closed port: boto3 honours the variable
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    st = ServiceState(model_uri="s3://models/face.keras")
    t0 = __import__("time").perf_counter()
    st.load()
    assert st.status == "degraded" and "127.0.0.1:9" in st.model_error
    assert __import__("time").perf_counter() - t0 < 30
