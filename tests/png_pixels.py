"""Read the pixels of a PNG file with the standard library (``zlib``), for screenshot tests.

Reads what browsers write: 8 bits per channel, grey, RGB or RGBA, not
interlaced. Anything else is an ``AssertionError`` saying what it found, so
a test fails on a file it cannot judge instead of passing it.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import attrs

__all__ = ["Image", "read_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Colour type -> channels per pixel.
_CHANNELS = {0: 1, 2: 3, 6: 4}


@attrs.frozen
class Image:
    """A decoded image: its size and its rows of unfiltered bytes."""

    width: int
    height: int
    channels: int
    rows: tuple[bytes, ...] = attrs.field(repr=False)

    def colours(self) -> set[tuple[int, int, int]]:
        """The distinct (red, green, blue) colours in the image (alpha dropped, grey spread)."""
        found: set[tuple[int, int, int]] = set()
        step = self.channels
        for row in self.rows:
            if step == 1:
                found.update((v, v, v) for v in row)
            else:
                found.update(zip(row[0::step], row[1::step], row[2::step], strict=True))
        return found


def read_png(path: Path) -> Image:
    """Decode ``path``; an ``AssertionError`` if it is not a PNG this module reads."""
    data = path.read_bytes()
    if not data.startswith(_SIGNATURE):
        raise AssertionError(f"{path} is not a PNG file (no PNG signature)")
    header, compressed = _chunks(data[len(_SIGNATURE) :])
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise AssertionError(
            f"{path}: bit depth {depth}, colour type {colour}, interlace {interlace}: "
            "expected 8-bit grey, RGB or RGBA, not interlaced"
        )
    channels = _CHANNELS[colour]
    raw = zlib.decompress(compressed)
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise AssertionError(f"{path}: image data of {len(raw)} bytes for {width}x{height}")
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        previous = _unfilter(line[0], bytearray(line[1:]), previous, channels)
        rows.append(previous)
    return Image(width, height, channels, tuple(rows))


def _chunks(data: bytes) -> tuple[bytes, bytes]:
    """The IHDR chunk's data, and all IDAT chunks' data joined."""
    header, idat, offset = b"", bytearray(), 0
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length  # length, type, data, CRC
    if not header or not idat:
        raise AssertionError("PNG without an IHDR or IDAT chunk")
    return header, bytes(idat)


def _unfilter(kind: int, line: bytearray, previous: bytes, bpp: int) -> bytes:
    """Undo one row's filter (PNG specification, section 9)."""
    if kind == 0:
        return bytes(line)
    if kind == 2:  # the most common one, done for the whole row at once
        return _added(bytes(line), previous)
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + previous[i]) // 2) & 0xFF
        elif kind == 4:
            upper_left = previous[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + _paeth(left, previous[i], upper_left)) & 0xFF
        else:
            raise AssertionError(f"unknown PNG filter type {kind}")
    return bytes(line)


def _added(a: bytes, b: bytes) -> bytes:
    """Byte by byte ``(a + b) % 256``, on two big integers: low 7 bits added, top bits xored."""
    size = len(a)
    low, high = int.from_bytes(b"\x7f" * size), int.from_bytes(b"\x80" * size)
    x, y = int.from_bytes(a), int.from_bytes(b)
    return (((x & low) + (y & low)) ^ ((x ^ y) & high)).to_bytes(size)


def _paeth(a: int, b: int, c: int) -> int:
    estimate = a + b - c
    pa, pb, pc = abs(estimate - a), abs(estimate - b), abs(estimate - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c
