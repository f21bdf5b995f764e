"""The HTML chart rendered by a real browser (headless Chromium) to a PNG kept as an artifact:
proof that the page draws, with the states' colours, without anything from outside."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest

from kflow.execution import State
from kflow.gantt import build_chart, render_html
from kflow.gantt.style import COLORS
from tests.gantt.synthetic import at, mixed_states

WIDTH, HEIGHT = 1400, 900


def artifacts_dir() -> Path:
    path = Path(os.environ.get("KFLOW_TEST_ARTIFACTS", "/tmp/kflow-test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def screenshot(page: Path, png: Path) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(chromium, os.X_OK):
        pytest.skip("chromium is not installed (tests/run installs it with apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="kflow-chromium-") as profile:
        done = subprocess.run([
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}",
            page.resolve().as_uri(),
        ], capture_output=True, text=True, timeout=120)
    assert png.exists(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"


def read_png(path: Path) -> tuple[int, int, list[list[bytes]]]:
    """Width, height and the rows of RGB pixels of an 8-bit RGB/RGBA PNG (no Pillow needed)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + chunk) == struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0], "bad CRC"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append([bytes(line[j:j + 3]) for j in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def test_html_chart_renders_in_chromium(tmp_path):
    page = tmp_path / "gantt.html"
    page.write_text(render_html(build_chart(mixed_states(), now=at(10))), encoding="utf-8")
    png = artifacts_dir() / "gantt-mixed-states.png"
    png.unlink(missing_ok=True)
    screenshot(page, png)
    width, height, rows = read_png(png)
    assert (width, height) == (WIDTH, HEIGHT)
    counts: dict[bytes, int] = {}
    for row in rows:
        for pixel in row:
            counts[pixel] = counts.get(pixel, 0) + 1
    assert len(counts) > 50, "the page is not blank"
    white = counts.get(b"\xff\xff\xff", 0)
    assert white < width * height * 0.97, "mostly white but not only"
    for state in (State.SUCCESS, State.FAILED, State.WARNING, State.RUNNING):
        colour = bytes(int(COLORS[state][i:i + 2], 16) for i in (1, 3, 5))
        assert counts.get(colour, 0) > 200, f"{state.value} bars drawn in {COLORS[state]}"
