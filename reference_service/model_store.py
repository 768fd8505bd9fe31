"""Model store: resolve ``MODEL_URI`` (a local path or ``s3://bucket/key``) to a verified local file.

- Local path: the file's sha256 must match the expected one (explicit ``MODEL_SHA256``, else the sidecar
  model card ``<name>.card.json``); with neither, the file is refused.
- S3: the expected sha256 comes from ``MODEL_SHA256``, else the object's ``sha256`` user metadata
  (``shine-ops model push`` sets it), else a sidecar card object next to it. The object is streamed into a
  temporary file in the cache directory while hashing, checked, then renamed atomically to
  ``<cache>/<sha256>.keras``; a later start with the same hash uses the cache. A failed or mismatching
  download removes its temporary file: no partial file is ever left under a name the loader would use.
  ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` are honoured by boto3 itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

PACKAGE_MODEL = Path(__file__).parent / "models" / "hare_run_face.keras"


class ModelError(Exception):
    """The model could not be fetched or failed its integrity check."""


@dataclass
class ResolvedModel:
    path: Path
    sha256: str
    source: str  # "package", "local" or "s3"
    uri: str
    card: dict | None = None
    cached: bool = False
    details: dict = field(default_factory=dict)


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def card_path_for(path: Path) -> Path:
    return path.with_name(path.name[: -len(path.suffix)] + ".card.json" if path.suffix else path.name + ".card.json")


def _read_card(path: Path) -> dict | None:
    cp = card_path_for(path)
    if not cp.is_file():
        return None
    try:
        card = json.loads(cp.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"model card {cp} is unreadable: {exc}") from None
    if not isinstance(card, dict):
        raise ModelError(f"model card {cp} is not a JSON object")
    return card


def default_cache_dir() -> Path:
    base = os.environ.get("MODEL_CACHE_DIR")
    if base:
        return Path(base)
    return Path(tempfile.gettempdir()) / "shine-reference-service-models"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    u = urlparse(uri)
    if u.scheme != "s3" or not u.netloc or not u.path.strip("/"):
        raise ModelError(f"not an s3://bucket/key URI: {uri}")
    return u.netloc, u.path.lstrip("/")


def resolve(uri: str | None = None, *, expected_sha256: str | None = None, cache_dir: Path | None = None,
            s3_client=None) -> ResolvedModel:
    """Returns a verified local copy of the model at ``uri`` (default: the model shipped in the package)."""
    expected = (expected_sha256 or "").strip().lower() or None
    if not uri:
        return _resolve_local(PACKAGE_MODEL, expected, source="package", uri=str(PACKAGE_MODEL))
    if uri.startswith("s3://"):
        return _resolve_s3(uri, expected, cache_dir or default_cache_dir(), s3_client)
    if "://" in uri and not uri.startswith("file://"):
        raise ModelError(f"unsupported MODEL_URI scheme: {uri} (use a local path or s3://bucket/key)")
    path = Path(urlparse(uri).path if uri.startswith("file://") else uri).expanduser()
    return _resolve_local(path, expected, source="local", uri=uri)


def _resolve_local(path: Path, expected: str | None, *, source: str, uri: str) -> ResolvedModel:
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    card = _read_card(path)
    want = expected or (card or {}).get("sha256")
    if not want:
        raise ModelError(f"no sha256 to check {path} against (set MODEL_SHA256 or provide {card_path_for(path).name})")
    actual = sha256_file(path)
    if actual != want.lower():
        raise ModelError(f"sha256 mismatch for {path}: expected {want}, got {actual}")
    return ResolvedModel(path=path, sha256=actual, source=source, uri=uri, card=card)


def make_s3_client():
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(retries={"max_attempts": 5, "mode": "standard"},
                                            connect_timeout=5, read_timeout=30))


def _resolve_s3(uri: str, expected: str | None, cache_dir: Path, client) -> ResolvedModel:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = parse_s3_uri(uri)
    client = client or make_s3_client()
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        raise ModelError(f"cannot read {uri}: {exc}") from None
    meta_sha = (head.get("Metadata") or {}).get("sha256")
    card = None
    stem = key[: -len(Path(key).suffix)] if Path(key).suffix else key
    try:
        body = client.get_object(Bucket=bucket, Key=stem + ".card.json")["Body"].read(1 << 20)
        card = json.loads(body)
    except (ClientError, BotoCoreError, ValueError):
        card = None
    want = (expected or meta_sha or (card or {}).get("sha256") or "").lower() or None
    if not want:
        raise ModelError(f"{uri} has no sha256 user metadata and no card (upload it with `shine-ops model push`)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    suffix = Path(key).suffix or ".keras"
    final = cache_dir / f"{want}{suffix}"
    if final.is_file() and sha256_file(final) == want:
        return ResolvedModel(path=final, sha256=want, source="s3", uri=uri, card=card, cached=True,
                             details={"bucket": bucket, "key": key, "etag": head.get("ETag")})
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=".download-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            stream = client.get_object(Bucket=bucket, Key=key)["Body"]
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        actual = h.hexdigest()
        if actual != want:
            raise ModelError(f"sha256 mismatch for {uri}: expected {want}, got {actual}; download discarded")
        os.replace(tmp, final)
    except (ClientError, BotoCoreError) as exc:
        raise ModelError(f"download of {uri} failed: {exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return ResolvedModel(path=final, sha256=want, source="s3", uri=uri, card=card,
                         details={"bucket": bucket, "key": key, "etag": head.get("ETag")})
