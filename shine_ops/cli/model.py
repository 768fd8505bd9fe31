"""``shine-ops model push FILE s3://bucket/key`` and ``shine-ops model verify s3://bucket/key``.

push uploads the file with its sha256 as user metadata (``x-amz-meta-sha256``), which the reference
service checks before it loads a model; verify streams an object and compares its bytes with that metadata.
Exit codes: 0 ok, 1 verify mismatch, 2 usage error, 3 the object or endpoint cannot be reached.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Optional

import typer

from shine_ops.cli import app

model_app = typer.Typer(help="Publish and check model files in S3 (sha256 user metadata).", no_args_is_help=True,
                        rich_markup_mode=None)
app.add_typer(model_app, name="model")


def _parse_s3(uri: str) -> tuple[str, str]:
    from urllib.parse import urlparse

    from shine_ops.errors import UsageError

    u = urlparse(uri)
    key = u.path.lstrip("/")
    if u.scheme != "s3" or not u.netloc or not key or key.endswith("/"):
        raise UsageError(f"expected s3://bucket/key, got {uri!r}")
    return u.netloc, key


def _client(endpoint_url: Optional[str], region: Optional[str], profile: Optional[str]):
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ProfileNotFound

    from shine_ops.errors import UsageError

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as exc:
        raise UsageError(str(exc)) from None
    return session.client("s3", endpoint_url=endpoint_url,
                          config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5,
                                        read_timeout=60))


def _aws_error(operation: str, exc: Exception):
    from botocore.exceptions import ClientError, NoCredentialsError

    from shine_ops.errors import AwsCallError, NoCredentials, RunIncomplete

    if isinstance(exc, NoCredentialsError):
        return NoCredentials("no AWS credentials found", hint="set AWS_PROFILE or use --profile")
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        action = {"PutObject": "s3:PutObject", "HeadObject": "s3:GetObject", "GetObject": "s3:GetObject"}
        return AwsCallError(f"s3.{operation}", str(err.get("Code", "Error")), str(err.get("Message", exc)),
                            iam_action=action.get(operation))
    return RunIncomplete(f"s3.{operation} failed: {exc}")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_ENDPOINT = typer.Option(None, "--endpoint-url", help="S3-compatible endpoint (else AWS_ENDPOINT_URL or AWS).")
_REGION = typer.Option(None, "--region", help="AWS region.")
_PROFILE = typer.Option(None, "--profile", help="AWS profile.")


@model_app.command("push")
def push(
    file: Path = typer.Argument(..., help="The model file (.keras)."),
    uri: str = typer.Argument(..., help="Destination s3://bucket/key."),
    endpoint_url: Optional[str] = _ENDPOINT,
    region: Optional[str] = _REGION,
    profile: Optional[str] = _PROFILE,
    card: bool = typer.Option(True, "--card/--no-card", help="Also upload the sidecar <name>.card.json if present."),
) -> None:
    """Upload FILE to S3 with its sha256 as user metadata (and its model card next to it)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from shine_ops.errors import UsageError

    bucket, key = _parse_s3(uri)
    if not file.is_file():
        raise UsageError(f"no such file: {file}")
    digest = sha256_of(file)
    client = _client(endpoint_url, region, profile)
    try:
        client.upload_file(str(file), bucket, key, ExtraArgs={"Metadata": {"sha256": digest}})
        card_path = file.with_name(file.stem + ".card.json")
        card_key = None
        if card and card_path.is_file():
            card_key = (key[: -len(Path(key).suffix)] if Path(key).suffix else key) + ".card.json"
            client.upload_file(str(card_path), bucket, card_key,
                               ExtraArgs={"Metadata": {"sha256": sha256_of(card_path)},
                                          "ContentType": "application/json"})
    except (ClientError, BotoCoreError) as exc:
        raise _aws_error("PutObject", exc) from None
    typer.echo(json.dumps({"uri": f"s3://{bucket}/{key}", "sha256": digest, "size_bytes": file.stat().st_size,
                           "card": f"s3://{bucket}/{card_key}" if card_key else None}))


@model_app.command("verify")
def verify(
    uri: str = typer.Argument(..., help="The object to check, s3://bucket/key."),
    endpoint_url: Optional[str] = _ENDPOINT,
    region: Optional[str] = _REGION,
    profile: Optional[str] = _PROFILE,
) -> None:
    """Stream an object and check its bytes against its sha256 user metadata (exit 1 on mismatch)."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = _parse_s3(uri)
    client = _client(endpoint_url, region, profile)
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        raise _aws_error("HeadObject", exc) from None
    expected = (head.get("Metadata") or {}).get("sha256")
    h, size = hashlib.sha256(), 0
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        for chunk in iter(lambda: body.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    except (ClientError, BotoCoreError) as exc:
        raise _aws_error("GetObject", exc) from None
    actual = h.hexdigest()
    ok = bool(expected) and expected.lower() == actual
    result = {"uri": f"s3://{bucket}/{key}", "ok": ok, "expected_sha256": expected, "actual_sha256": actual,
              "size_bytes": size}
    if not expected:
        result["problem"] = "the object has no sha256 user metadata (upload it with `shine-ops model push`)"
    elif not ok:
        result["problem"] = "the object's bytes do not match its sha256 metadata (corrupt or replaced)"
    typer.echo(json.dumps(result))
    raise typer.Exit(0 if ok else 1)
