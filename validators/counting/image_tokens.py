"""Tokens of the images in vision examples, by OpenAI's published rule.

Source: OpenAI's "Images and vision" guide, section "Calculating costs"
(https://platform.openai.com/docs/guides/images-vision?api-mode=chat#calculating-costs),
for the tile-based models that take vision fine-tuning (gpt-4o, gpt-4.1):

* ``detail: low`` – a fixed 85 tokens, whatever the size;
* ``detail: high`` (and ``auto``, counted as high: the upper bound the service may pick) –
  scale to fit in 2048 × 2048, then scale so the shortest side is 768 px (never up), count
  the 512 px tiles that cover the image: 170 tokens per tile + 85.

The size of an image given as a data URL is read from its header (Pillow reads only the
header); an image at a web address has no known size without downloading it, so in high or
auto detail it is reported as *not counted* rather than guessed.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
from typing import Any

BASE = 85
PER_TILE = 170
LOW = 85
_DATA_URL = re.compile(r"data:image/[\w.+-]+;base64,", re.IGNORECASE)


def high_detail(width: int, height: int) -> int:
    """Tokens of a ``width`` × ``height`` image in high detail."""
    if width <= 0 or height <= 0:
        return BASE
    w, h = float(width), float(height)
    if max(w, h) > 2048:
        s = 2048 / max(w, h)
        w, h = w * s, h * s
    if min(w, h) > 768:
        s = 768 / min(w, h)
        w, h = w * s, h * s
    tiles = math.ceil(math.floor(w) / 512) * math.ceil(math.floor(h) / 512)
    return PER_TILE * tiles + BASE


def data_url_size(url: str) -> tuple[int, int] | None:
    """(width, height) of an image in a base64 data URL, or None when it cannot be read."""
    m = _DATA_URL.match(url)
    if not m:
        return None
    try:
        from PIL import Image

        raw = base64.b64decode(url[m.end():], validate=False)
        with Image.open(io.BytesIO(raw)) as img:
            return img.size
    except (binascii.Error, ValueError, OSError, ImportError):
        return None


def image_part_tokens(part: dict[str, Any]) -> int | None:
    """Tokens of one ``image_url`` part, or None when its size is unknown."""
    spec = part.get("image_url")
    url = spec.get("url") if isinstance(spec, dict) else spec if isinstance(spec, str) else None
    detail = spec.get("detail", "auto") if isinstance(spec, dict) else "auto"
    if detail == "low":
        return LOW
    size = data_url_size(url) if isinstance(url, str) else None
    return None if size is None else high_detail(*size)


def message_images(content: list[Any]) -> tuple[int, int]:
    """(tokens of the images whose size is known, number of images not counted)."""
    known = unknown = 0
    for part in content:
        if isinstance(part, dict) and part.get("type") == "image_url":
            t = image_part_tokens(part)
            if t is None:
                unknown += 1
            else:
                known += t
    return known, unknown
