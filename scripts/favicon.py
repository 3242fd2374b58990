"""Draw the site icon: `server/static/graphiql/favicon.svg` and `favicon.ico` (16, 32 and 48 px PNGs).

A navy rounded square with a white camera lens and a red recording dot. Pure Python (no Pillow),
so the committed files can be redrawn anywhere: `.venv/bin/python scripts/favicon.py`.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "server" / "static" / "graphiql"
NAVY, WHITE, RED = (23, 43, 77), (255, 255, 255), (235, 64, 52)
SUPERSAMPLE = 4

SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
  <rect x="1" y="1" width="30" height="30" rx="7" fill="#172b4d"/>
  <circle cx="15" cy="17" r="8" fill="none" stroke="#fff" stroke-width="3"/>
  <circle cx="15" cy="17" r="2.5" fill="#fff"/>
  <circle cx="25" cy="7" r="3" fill="#eb4034"/>
</svg>
"""


def _colour_at(x: float, y: float) -> tuple[int, int, int, int]:
    """The icon at a point of its 32×32 design space (the SVG's geometry)."""
    dx, dy = max(8 - x, 0, x - 24), max(8 - y, 0, y - 24)  # rounded square: corners of radius 7 at 1..31
    if not (1 <= x <= 31 and 1 <= y <= 31) or (dx * dx + dy * dy) ** 0.5 > 7:
        return (0, 0, 0, 0)
    if (x - 25) ** 2 + (y - 7) ** 2 <= 9:
        return (*RED, 255)
    lens = ((x - 15) ** 2 + (y - 17) ** 2) ** 0.5
    if 6.5 <= lens <= 9.5 or lens <= 2.5:
        return (*WHITE, 255)
    return (*NAVY, 255)


def _pixels(size: int) -> list[list[tuple[int, int, int, int]]]:
    rows = []
    for py in range(size):
        row = []
        for px in range(size):
            samples = [
                _colour_at((px + (sx + 0.5) / SUPERSAMPLE) * 32 / size, (py + (sy + 0.5) / SUPERSAMPLE) * 32 / size)
                for sy in range(SUPERSAMPLE)
                for sx in range(SUPERSAMPLE)
            ]
            alpha = sum(s[3] for s in samples)
            if alpha == 0:
                row.append((0, 0, 0, 0))
                continue
            rgb = tuple(round(sum(s[c] * s[3] for s in samples) / alpha) for c in range(3))
            row.append((rgb[0], rgb[1], rgb[2], round(alpha / len(samples))))
        rows.append(row)
    return rows


def _png(size: int) -> bytes:
    raw = b"".join(b"\x00" + bytes(v for pixel in row for v in pixel) for row in _pixels(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def ico(sizes: tuple[int, ...] = (16, 32, 48)) -> bytes:
    """An ICO file holding one PNG per size."""
    images = [_png(size) for size in sizes]
    offset = 6 + 16 * len(images)
    directory = struct.pack("<HHH", 0, 1, len(images))
    for size, image in zip(sizes, images, strict=True):
        directory += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(image), offset)
        offset += len(image)
    return directory + b"".join(images)


def main() -> None:
    """Write both files next to the GraphiQL page."""
    (OUT / "favicon.svg").write_text(SVG, encoding="utf-8")
    (OUT / "favicon.ico").write_bytes(ico())
    print(f"wrote {OUT / 'favicon.svg'} and {OUT / 'favicon.ico'}")


if __name__ == "__main__":
    main()
