"""Bad input is always a 4xx JSON error, never a 500."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rs_helpers import png

pytestmark = pytest.mark.service
ROUTES = ("/api/v4/face/detect", "/api/v6/skin/analyze-hare-run")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (a decompression bomb's header; no real pixel data)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def assert_error(r, status: int, contains: str = ""):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:200])
    assert r.is_json and isinstance(r.json["error"], str) and r.json["error"]
    assert contains.lower() in r.json["error"].lower()


@pytest.mark.parametrize("route", ROUTES)
def test_body_over_10_mb_is_413(client, route):
    big = b"A" * (10 * 1024 * 1024 + 10)
    r = client.post(route, data=b'{"image_data": "' + big + b'"}', content_type="application/json")
    assert_error(r, 413, "10 MB")
    r = client.post(route, data={"image": (__import__("io").BytesIO(big), "x.jpg")}, content_type="multipart/form-data")
    assert_error(r, 413)


@pytest.mark.parametrize("route", ROUTES)
def test_wrong_content_type_is_415(client, route):
    assert_error(client.post(route, data=b"hello", content_type="text/plain"), 415, "Content-Type")
    assert_error(client.post(route, data=png(), content_type="image/png"), 415)
    assert_error(client.post(route, data="image_data=abc", content_type="application/x-www-form-urlencoded"), 415)


@pytest.mark.parametrize("route", ROUTES)
def test_zero_byte_bodies_are_400(client, route):
    assert_error(client.post(route, data=b"", content_type="application/json"), 400, "empty")
    assert_error(client.post(route, data=b""), 400, "empty")
    assert_error(client.post(route, json={"image_data": ""}), 400, "empty")
    r = client.post(route, data={"image": (__import__("io").BytesIO(b""), "x.jpg")}, content_type="multipart/form-data")
    assert_error(r, 400, "empty")


@pytest.mark.parametrize("route", ROUTES)
def test_not_an_image_and_corrupt_are_400(client, route):
    assert_error(client.post(route, json={"image_data": b64(b"this is plain text, not an image")}), 400, "not an image")
    corrupt = bytearray(png(200, 200))
    corrupt[60:200] = b"\x00" * 140  # destroys the compressed pixel data
    assert_error(client.post(route, json={"image_data": b64(bytes(corrupt))}), 400)


@pytest.mark.parametrize("route", ROUTES)
def test_truncated_jpeg_is_400(client, route, astronaut_jpeg):
    for cut in (len(astronaut_jpeg) // 2, 600, 40):
        assert_error(client.post(route, json={"image_data": b64(astronaut_jpeg[:cut])}), 400)


@pytest.mark.parametrize("route", ROUTES)
def test_over_40_megapixels_is_400_without_decoding(client, route):
    bomb = png_header_only(8000, 6000)  # 48 MP claimed, a few hundred bytes sent
    assert len(bomb) < 500
    assert_error(client.post(route, json={"image_data": b64(bomb)}), 400, "megapixels")
    assert_error(client.post(route, json={"image_data": b64(png_header_only(100_000, 100_000))}), 400, "megapixels")


@pytest.mark.parametrize("route", ROUTES)
def test_bad_base64_and_bad_json_are_400(client, route):
    assert_error(client.post(route, json={"image_data": "@@@not base64!!"}), 400, "base64")
    assert_error(client.post(route, json={"image_data": "QUJDR"}), 400, "base64")  # 5 chars: impossible length
    assert_error(client.post(route, json={"image_data": "data:image/png,abc"}), 400, "base64")
    assert_error(client.post(route, json={"image_data": 12345}), 400)
    assert_error(client.post(route, json={"something": "else"}), 400, "image_data is required")
    assert_error(client.post(route, json=["a", "list"]), 400, "object")
    assert_error(client.post(route, data=b"{not json", content_type="application/json"), 400, "JSON")
    assert_error(client.post(route, data={"other": "x"}, content_type="multipart/form-data"), 400, "image")


def test_valid_tiny_image_is_fine(client):
    r = client.post("/api/v4/face/detect", json={"image_data": b64(png(30, 20))})
    assert r.status_code == 200 and r.json["faces"] == [] and r.json["image"] == {"width": 30, "height": 20}
    assert client.post("/api/v6/skin/analyze-hare-run", json={"image_data": b64(png(1, 1))}).status_code == 422


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(st.binary(max_size=300),
                         st.binary(max_size=200).map(lambda b: b"\x89PNG\r\n\x1a\n" + b),
                         st.binary(max_size=200).map(lambda b: b"\xff\xd8\xff\xe0" + b),
                         st.binary(max_size=200).map(lambda b: b"GIF89a" + b)))
def test_fuzzed_bytes_never_500(client, payload):
    for route in ROUTES:
        r = client.post(route, json={"image_data": b64(payload)})
        assert r.status_code in (200, 400, 422), (r.status_code, r.get_data(as_text=True)[:200])
        assert r.is_json


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=80))
def test_fuzzed_base64_text_never_500(client, text):
    r = client.post("/api/v4/face/detect", json={"image_data": text})
    assert r.status_code in (200, 400) and r.is_json
