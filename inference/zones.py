"""Entrance lines and zones of a camera, in plain Python (no NumPy): the camera registry, read by
the API process, holds them; :mod:`inference.tracking` counts with them.

Coordinates are frame pixels, or fractions of the frame's width and height when every coordinate
of the line (or of the polygon) lies between 0 and 1; :meth:`Entrance.resolve` and
:meth:`Zone.resolve` turn either into pixels once the frame size is known.

Which side of a line is which: stand on the image at the line's first point and look towards its
second point; ``"left"`` and ``"right"`` are your hands (image coordinates, ``y`` pointing down).
A line drawn left to right across a door at the top of the picture has the room below it on its
``"right"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Point = tuple[float, float]
Side = Literal["left", "right"]


def is_relative(points: tuple[Point, ...]) -> bool:
    """Whether ``points`` are 0-1 fractions of the frame (every coordinate within ``[0, 1]``)."""
    return all(0.0 <= value <= 1.0 for point in points for value in point)


def _scale(points: tuple[Point, ...], width: int, height: int) -> tuple[Point, ...]:
    if not is_relative(points):
        return points
    return tuple((x * width, y * height) for x, y in points)


@dataclass(frozen=True)
class Entrance:
    """A door's counting line: people crossing it towards ``inside`` enter, the other way leave."""

    line: tuple[Point, Point]
    inside: Side

    @property
    def relative(self) -> bool:
        """Whether the line is given in 0-1 fractions of the frame."""
        return is_relative(self.line)

    def resolve(self, width: int, height: int) -> Entrance:
        """The same line in pixels of a ``width`` x ``height`` frame."""
        first, second = _scale(self.line, width, height)
        return Entrance(line=(first, second), inside=self.inside)

    def side(self, point: Point, *, margin: float = 0.0) -> Literal["in", "out"] | None:
        """Which side of the (pixel) line ``point`` is on: ``"in"``, ``"out"``, or ``None`` when it is
        within ``margin`` pixels of the line or beyond its ends (the segment is what counts)."""
        (x1, y1), (x2, y2) = self.line
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy)
        px, py = point[0] - x1, point[1] - y1
        along = (px * dx + py * dy) / length
        if along < -margin or along > length + margin:
            return None
        distance = (dx * py - dy * px) / length  # > 0: on the right (image y points down)
        if abs(distance) <= margin:
            return None
        right = distance > 0
        return "in" if right == (self.inside == "right") else "out"

    def as_dict(self) -> dict[str, object]:
        """The cameras-file form: ``{"line": [[x1, y1], [x2, y2]], "inside": ...}``."""
        return {"line": [list(p) for p in self.line], "inside": self.inside}


@dataclass(frozen=True)
class Zone:
    """A named polygon; a person is in it when the bottom centre of their box (their feet) is."""

    id: str
    polygon: tuple[Point, ...]

    @property
    def relative(self) -> bool:
        """Whether the polygon is given in 0-1 fractions of the frame."""
        return is_relative(self.polygon)

    def resolve(self, width: int, height: int) -> Zone:
        """The same zone in pixels of a ``width`` x ``height`` frame."""
        return Zone(id=self.id, polygon=_scale(self.polygon, width, height))

    def as_dict(self) -> dict[str, object]:
        """The cameras-file form: ``{"id": ..., "polygon": [[x, y], ...]}``."""
        return {"id": self.id, "polygon": [list(p) for p in self.polygon]}


def polygon_area(points: tuple[Point, ...]) -> float:
    """The (unsigned) area of a simple polygon, by the shoelace formula."""
    twice = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True))
    return abs(twice) / 2
