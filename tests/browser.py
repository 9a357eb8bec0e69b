"""Headless Chromium (Debian's `chromium` package) for tests that look at a page as a person
would: a screenshot, the page's text, and every console message the page caused.

`make test` in CI (CI=true) needs the binary: .ci/run installs it with apt-get when it is
missing. Elsewhere a test that needs it is skipped only when the binary is absent."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

# Chromium logs every console message of the page (console.error, an uncaught exception, a
# resource that failed to load) to stderr as "INFO:CONSOLE..." with --enable-logging=stderr.
CONSOLE = re.compile(r":CONSOLE[^\]]*\] (.*)")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         "--hide-scrollbars", "--window-size=1280,1600")


def chromium() -> str:
    """The Chromium binary; skips the test when it is absent, except in CI, where that fails."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed (.ci/run installs Debian's chromium package)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


@dataclass
class Page:
    text: str  # the rendered DOM's text, tags stripped
    console: list[str]  # every console message
    screenshot: Path

    @property
    def distinct_pixels(self) -> int:
        return distinct_colours(self.screenshot)


def open_page(path: Path, screenshot: Path) -> Page:
    binary = chromium()
    url = path.resolve().as_uri()
    shot = subprocess.run([binary, *FLAGS, f"--screenshot={screenshot}", url],
                          capture_output=True, text=True, timeout=120)
    dom = subprocess.run([binary, *FLAGS, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120)
    assert screenshot.exists(), shot.stderr[-2000:]
    console = CONSOLE.findall(shot.stderr) + CONSOLE.findall(dom.stderr)
    body = re.search(r"<body[^>]*>(.*)</body>", dom.stdout, re.DOTALL)
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", body[1] if body else "", flags=re.DOTALL)
    text = " ".join(re.sub(r"<[^>]+>", " ", markup).split())
    return Page(text, console, screenshot)


def distinct_colours(png: Path, limit: int = 64) -> int:
    """How many different RGB(A) pixel values the PNG's first rows hold (up to `limit`): 1 for an
    empty, single-colour page. Reads 8-bit RGB/RGBA PNGs, which Chromium writes."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, width, channels = 8, b"", 0, 0
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        chunk = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            width, _, depth, colour_type = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour_type in (2, 6), (depth, colour_type)
            channels = 3 if colour_type == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        position += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    seen: set[bytes] = set()
    for row in range(len(raw) // (stride + 1)):
        filter_type = raw[row * (stride + 1)]
        line = bytearray(raw[row * (stride + 1) + 1:(row + 1) * (stride + 1)])
        for i in range(stride):  # undo the PNG row filter (PNG spec, section 9)
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            upper_left = previous[i - channels] if i >= channels else 0
            if filter_type == 1:
                line[i] = (line[i] + left) & 0xFF
            elif filter_type == 2:
                line[i] = (line[i] + up) & 0xFF
            elif filter_type == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif filter_type == 4:
                p = left + up - upper_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else upper_left
                line[i] = (line[i] + predictor) & 0xFF
        seen.update(bytes(line[i:i + channels]) for i in range(0, stride, channels))
        previous = line
        if len(seen) >= limit or row > 400:
            break
    return len(seen)
