"""Request images: base64 / data URL / multipart -> numpy, with limits checked before the full decode.

Order of checks: empty -> base64 -> header (format, width x height, read lazily by Pillow without decoding
pixels) -> pixel limit -> full decode (a truncated or corrupt file fails here) -> EXIF orientation.
Every failure is an ``InputError`` (HTTP 4xx with a one-line message), never a 500.
"""

from __future__ import annotations

import base64
import binascii
import io
import re

import numpy as np

ALLOWED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF"}
_B64_STD = re.compile(rb"^[A-Za-z0-9+/]*$")
_B64_URL = re.compile(rb"^[A-Za-z0-9_-]*$")
_WS = re.compile(rb"\s+")


class InputError(Exception):
    """Bad client input: carries the HTTP status (400, 413, 415, 422)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def decode_base64(value) -> bytes:
    """Base64 or a data URL (``data:image/png;base64,...``); whitespace and missing padding tolerated."""
    if not isinstance(value, str):
        raise InputError("image_data must be a base64 string or a data URL")
    text = value.strip()
    if text.startswith("data:"):
        head, sep, text = text.partition(",")
        if not sep:
            raise InputError("data URL has no ',' before its payload")
        if ";base64" not in head:
            raise InputError("data URL is not base64-encoded")
    raw = _WS.sub(b"", text.encode("ascii", errors="replace")).rstrip(b"=")
    if not raw:
        raise InputError("image data is empty")
    if _B64_STD.match(raw):
        alphabet = None
    elif _B64_URL.match(raw):
        alphabet = b"-_"
    else:
        raise InputError("image_data is not valid base64")
    if len(raw) % 4 == 1:
        raise InputError("image_data is not valid base64 (truncated)")
    raw += b"=" * (-len(raw) % 4)
    try:
        return base64.b64decode(raw, altchars=alphabet, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"image_data is not valid base64 ({exc})") from None


def open_image(data: bytes, *, max_pixels: int):
    """Reads only the header: returns the lazy Pillow image after checking format and pixel count."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise InputError("image is empty (0 bytes)")
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise InputError(f"image is larger than {max_pixels / 1e6:g} megapixels") from None
    except UnidentifiedImageError:
        raise InputError("not an image (unrecognised format)") from None
    except Exception as exc:  # noqa: BLE001 - any parser failure on client bytes is a 400
        raise InputError(f"not a readable image ({type(exc).__name__})") from None
    if img.format not in ALLOWED_FORMATS:
        raise InputError(f"unsupported image format {img.format}")
    width, height = img.size
    if width <= 0 or height <= 0:
        raise InputError("image has no pixels")
    if width * height > max_pixels:
        raise InputError(f"image is {width}x{height} = {width * height / 1e6:.1f} megapixels; "
                         f"the limit is {max_pixels / 1e6:g}")
    return img


def decode_image(data: bytes, *, mode: str = "RGB", max_pixels: int = 40_000_000,
                 max_side: int | None = None) -> tuple[np.ndarray, tuple[int, int], float]:
    """Decodes to a uint8 array in ``mode`` ('RGB' or 'L').

    With ``max_side``, a JPEG is decoded at a reduced DCT scale when that still leaves at least ``max_side``
    pixels on its longest side (cheap; other formats decode fully). Returns (array, (width, height) of the
    original, factor from array coordinates to original coordinates).
    """
    from PIL import Image, ImageOps

    img = open_image(data, max_pixels=max_pixels)
    width, height = img.size
    try:
        if img.format in ("JPEG", "MPO"):
            # libjpeg decodes straight to grayscale and, for big photos, at a 1/2, 1/4 or 1/8 DCT scale that
            # still covers ``max_side``: far less work than decoding everything and resizing.
            f = min(1.0, max_side / max(width, height)) if max_side else 1.0
            img.draft(mode, (max(1, int(width * f)), max(1, int(height * f))))
        img.load()
        if img.format in ("JPEG", "MPO", "TIFF", "WEBP", "PNG"):
            orientation = img.getexif().get(0x0112, 1)
            if orientation in (2, 3, 4, 5, 6, 7, 8):
                img = ImageOps.exif_transpose(img)
                if orientation in (5, 6, 7, 8):
                    width, height = height, width
        if img.mode != mode:
            img = img.convert(mode)
        arr = np.asarray(img)
    except InputError:
        raise
    except Image.DecompressionBombError:
        raise InputError(f"image is larger than {max_pixels / 1e6:g} megapixels") from None
    except Exception as exc:  # noqa: BLE001 - truncated/corrupt data: OSError, SyntaxError, ValueError, ...
        raise InputError(f"image is truncated or corrupt ({type(exc).__name__}: {exc})") from None
    if arr.ndim < 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError("image has no pixels")
    return arr, (width, height), width / arr.shape[1]
