"""A deterministic synthetic shop camera: ``synthetic:<seed>``.

The frame at time ``t`` depends only on ``(seed, t)``: a store scene (wall with a door, shelves,
floor, counter) where up to eight people of two visibly different kinds -- ``male`` (short hair,
trousers) and ``female`` (long hair, dress) -- come in through the door, wander, stop at the counter
now and then, and leave through the door. Position, size, walking pose, clothing and skin colour,
lighting, sensor noise and partial occlusion (by the counter and by neighbours) all vary. Every
frame comes with its ground truth -- boxes, labels, each person's stable id, which side of the
entrance line they are on and which zones they stand in -- and :func:`door_events` lists who
entered and left over any interval, so the same generator serves as a camera, as a test oracle for
detection, tracking and counting, and as the training set of the demo detector.

Frames are rendered at whole seconds by default (``render(seed, t)``, what a snapshot camera
shows) or at any frame rate (``render(seed, t, fps=5)``): people move continuously in time.

How people are scheduled: time is cut into door *windows* of :data:`DOOR_WINDOW` seconds, and
window ``w`` belongs to lane ``w mod 8`` (one lane per eighth of the shop's width). A lane hosts at
most one visitor at a time; each visit enters in one of its lane's windows and leaves in a later
one, so the door serves at most one person per window and never two at once. A lane's windows
are grouped into epochs whose visits are drawn from a random stream seeded by
``(seed, lane, epoch)``; a visit's path and looks from ``(seed, lane, epoch, visit)``. Nothing
depends on earlier frames, so any ``(seed, t)`` is rendered directly.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from inference.detection import Box

WIDTH = 320
HEIGHT = 240
CLASSES: tuple[str, ...] = ("male", "female")
SLOTS = 8
MAX_PEOPLE = SLOTS
DOOR_WINDOW = 3.0
"""Seconds per door window: at most one person passes the door in each."""
COUNTER_ZONE = "counter"
"""The id of the zone in front of the counter (see :func:`geometry`)."""

_MASK = (1 << 63) - 1
_ZONE = WIDTH / SLOTS
_EPOCH_WINDOWS = 10  # lane windows per epoch: a lane's visits are drawn DOOR_WINDOW * SLOTS * 10 s at a time
_MAX_VISIT = DOOR_WINDOW * SLOTS * _EPOCH_WINDOWS
_HORIZON_RANGE = (78, 96)
_FOOT_RANGE = (128.0, 232.0)
_DOOR_X = (138, 178)
_DOOR_HEIGHT = 60
_DOORWAY_DEPTH = 4  # foot position in the doorway, below the horizon
_LINE_DEPTH = 20  # the entrance line, below the horizon
_INSIDE_DEPTH = 36  # first step inside, below the horizon
_LINE_REACH = 16  # the entrance line extends this far beyond the door posts
_CORRIDOR = 22  # waypoints this close to the door posts (in x) keep clear of the doorway
_CORRIDOR_FOOT = 168.0
_HAIR = [(25, 20, 18), (70, 45, 25), (120, 80, 40), (200, 170, 90), (150, 150, 150), (40, 30, 60)]
_SKIN = [(245, 205, 170), (225, 180, 140), (190, 140, 100), (140, 95, 65), (95, 65, 45)]
_TROUSERS = [(40, 45, 70), (30, 30, 30), (90, 80, 60), (60, 70, 50), (110, 110, 120)]
_NOISE_SPAN = 1 << 16
_NOISE_LEVELS = 8
_NOISE_SIGMA = (1.5, 6.0)

Color = tuple[int, int, int]
Point = tuple[float, float]


@dataclass(frozen=True)
class TruthBox:
    """One person in a synthetic frame: class label and full (amodal) box in frame pixels, plus
    the person's stable id (the same for the whole visit), whether their feet are past the
    entrance line (``inside``) and the ids of the zones their feet stand in."""

    label: str
    box: Box
    person_id: int = -1
    inside: bool = True
    zones: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SyntheticFrame:
    """A rendered frame (RGB uint8, ``HEIGHT x WIDTH x 3``) with its ground truth.

    ``time`` is the exact frame time (epoch seconds, quantised to the frame rate); ``t`` is its
    whole second."""

    image: NDArray[np.uint8]
    objects: tuple[TruthBox, ...]
    seed: int
    t: int
    time: float

    def counts(self) -> dict[str, int]:
        """Ground-truth people per class (every class present, zero when absent)."""
        counts = dict.fromkeys(CLASSES, 0)
        for obj in self.objects:
            counts[obj.label] += 1
        return counts

    def zone_counts(self) -> dict[str, dict[str, int]]:
        """Ground-truth people per zone and class (every zone of :func:`geometry`, every class)."""
        zones = {zone: dict.fromkeys(CLASSES, 0) for zone in geometry(self.seed).zones}
        for obj in self.objects:
            for zone in obj.zones:
                zones[zone][obj.label] += 1
        return zones


@dataclass(frozen=True)
class DoorEvent:
    """Someone's feet crossed the entrance line: ``entry`` going in, ``exit`` going out."""

    person_id: int
    label: str
    kind: Literal["entry", "exit"]
    t: float


@dataclass(frozen=True)
class SceneGeometry:
    """Where the door and the zones of camera ``synthetic:<seed>`` are, in frame pixels.

    ``line`` is the entrance line (two points); ``inside`` says which side of it, looking from
    the first point towards the second on the image, is the shop (``"right"``: below the line).
    ``zones`` maps a zone id to its polygon."""

    line: tuple[Point, Point]
    inside: Literal["left", "right"]
    zones: dict[str, tuple[Point, ...]]


@dataclass(frozen=True)
class _Layout:
    horizon: int
    counter: tuple[int, int, int, int]  # x0, y_top, x1, y_base


@dataclass(frozen=True)
class _Looks:
    label: str
    scale: float
    shirt: Color
    lower: Color
    hair: Color
    skin: Color
    phase: float


@dataclass(frozen=True)
class _Visit:
    person_id: int
    looks: _Looks
    times: tuple[float, ...]  # key frames: the person is at points[i] at times[i], linear in between
    points: tuple[Point, ...]
    walked: tuple[float, ...]  # distance walked up to each key frame
    entry: float  # when the feet cross the entrance line, going in and going out
    exit: float

    @property
    def t_in(self) -> float:
        return self.times[0]

    @property
    def t_out(self) -> float:
        return self.times[-1]


@dataclass(frozen=True)
class _Person:
    person_id: int
    label: str
    foot_x: float
    foot_y: float
    height: float
    shirt: Color
    lower: Color
    hair: Color
    skin: Color
    phase: float
    moving: bool


@dataclass(frozen=True)
class _Scene:
    background: Image.Image
    counter: tuple[int, int, int, int]  # x0, y_top, x1, y_base
    counter_colors: tuple[Color, Color]
    light_phase: float


def to_seconds(t: float | datetime) -> int:
    """Quantise a time (epoch seconds or aware datetime) to the whole second the frame shows."""
    value = t.timestamp() if isinstance(t, datetime) else float(t)
    return math.floor(value)


def frame_time(t: float | datetime, *, fps: float = 1.0) -> float:
    """The time of the frame shown at ``t`` by a camera running at ``fps`` frames per second."""
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    value = t.timestamp() if isinstance(t, datetime) else float(t)
    return math.floor(value * fps + 1e-6) / fps


def render(seed: int, t: float | datetime, *, fps: float = 1.0) -> SyntheticFrame:
    """Render the frame of camera ``synthetic:<seed>`` at time ``t`` with its ground truth.

    ``t`` is quantised to the camera's frame rate ``fps`` (default 1: whole seconds); the same
    frame time gives the same frame whatever the rate."""
    at = frame_time(t, fps=fps)
    scene = _scene(seed)
    people = people_at(seed, at)
    canvas = scene.background.copy()
    draw = ImageDraw.Draw(canvas)
    y_base = scene.counter[3]
    for person in (p for p in people if p.foot_y < y_base):
        _draw_person(draw, person)
    _draw_counter(draw, scene)
    for person in (p for p in people if p.foot_y >= y_base):
        _draw_person(draw, person)
    image = _finish(np.asarray(canvas), seed=seed, at=at, scene=scene)
    layout = _layout(seed)
    line_y = layout.horizon + _LINE_DEPTH
    objects = tuple(
        TruthBox(
            p.label,
            _person_box(p),
            person_id=p.person_id,
            inside=p.foot_y > line_y,
            zones=_zones_of(layout, p.foot_x, p.foot_y),
        )
        for p in people
    )
    return SyntheticFrame(image=image, objects=objects, seed=seed, t=math.floor(at), time=at)


def geometry(seed: int) -> SceneGeometry:
    """The entrance line and zones of camera ``synthetic:<seed>`` (what its camera config says)."""
    layout = _layout(seed)
    y = float(layout.horizon + _LINE_DEPTH)
    line = ((float(_DOOR_X[0] - _LINE_REACH), y), (float(_DOOR_X[1] + _LINE_REACH), y))
    return SceneGeometry(line=line, inside="right", zones={COUNTER_ZONE: _counter_zone(layout)})


def people_at(seed: int, t: float) -> list[_Person]:
    """Everyone in the shop at time ``t`` (epoch seconds), sorted far to near (drawing order)."""
    people: list[_Person] = []
    for lane in range(SLOTS):
        visit = _visit_at(seed, lane, t)
        if visit is not None:
            people.append(_person(visit, t))
    return sorted(people, key=lambda p: p.foot_y)


def door_events(seed: int, start: float, end: float) -> list[DoorEvent]:
    """Every entrance-line crossing of camera ``synthetic:<seed>`` with ``start <= t < end``, by time."""
    events: list[DoorEvent] = []
    for lane in range(SLOTS):
        for visit in _visits_between(seed, lane, start - _MAX_VISIT, end):
            label = visit.looks.label
            if start <= visit.entry < end:
                events.append(DoorEvent(visit.person_id, label, "entry", visit.entry))
            if start <= visit.exit < end:
                events.append(DoorEvent(visit.person_id, label, "exit", visit.exit))
    return sorted(events, key=lambda e: (e.t, e.person_id))


def entries(seed: int, start: float, end: float) -> list[DoorEvent]:
    """The entries (people coming in through the door) with ``start <= t < end``, by time."""
    return [event for event in door_events(seed, start, end) if event.kind == "entry"]


# --- schedule -----------------------------------------------------------------------------------


def _lane_offset(seed: int, lane: int) -> int:
    return (seed * 7 + lane * 3) % _EPOCH_WINDOWS


def _window_start(seed: int, lane: int, epoch: int, position: int) -> float:
    j = epoch * _EPOCH_WINDOWS + position - _lane_offset(seed, lane)
    return (j * SLOTS + lane) * DOOR_WINDOW


def _epoch_of(seed: int, lane: int, t: float) -> int:
    window = math.floor(t / DOOR_WINDOW)
    j = (window - lane) // SLOTS
    return (j + _lane_offset(seed, lane)) // _EPOCH_WINDOWS


def _visit_at(seed: int, lane: int, t: float) -> _Visit | None:
    for visit in _epoch_visits(seed, lane, _epoch_of(seed, lane, t)):
        if visit.t_in <= t < visit.t_out:
            return visit
    return None


def _visits_between(seed: int, lane: int, start: float, end: float) -> list[_Visit]:
    first, last = _epoch_of(seed, lane, start), _epoch_of(seed, lane, end)
    return [v for epoch in range(first, last + 1) for v in _epoch_visits(seed, lane, epoch)]


@lru_cache(maxsize=8192)
def _epoch_visits(seed: int, lane: int, epoch: int) -> tuple[_Visit, ...]:
    rng = np.random.default_rng([seed & _MASK, lane, epoch & _MASK, 7919])
    count = int(rng.choice(3, p=[0.25, 0.5, 0.25]))
    durations = [int(d) for d in rng.integers(1, 7, size=count)]
    while durations and sum(durations) + len(durations) > _EPOCH_WINDOWS:
        durations.pop()
    free = _EPOCH_WINDOWS - sum(durations) - len(durations)
    gaps = [int(g) for g in rng.multinomial(free, [1 / (len(durations) + 1)] * (len(durations) + 1))]
    visits: list[_Visit] = []
    position = gaps[0]
    for index, duration in enumerate(durations):
        enter_window, leave_window = position, position + duration
        position = leave_window + 1 + gaps[index + 1]
        visit_rng = np.random.default_rng([seed & _MASK, lane, epoch & _MASK, index, 104723])
        t_in = _window_start(seed, lane, epoch, enter_window) + float(visit_rng.uniform(0.0, 0.2))
        t_out = _window_start(seed, lane, epoch, leave_window) + DOOR_WINDOW - float(visit_rng.uniform(0.1, 0.3))
        person_id = ((epoch & _MASK) * SLOTS + lane) * 4 + index
        visits.append(_plan_visit(visit_rng, _layout(seed), lane=lane, person_id=person_id, t_in=t_in, t_out=t_out))
    return tuple(visits)


def _plan_visit(
    rng: np.random.Generator, layout: _Layout, *, lane: int, person_id: int, t_in: float, t_out: float
) -> _Visit:
    looks = _make_looks(rng)
    door_x = (_DOOR_X[0] + _DOOR_X[1]) / 2
    doorway_y = float(layout.horizon + _DOORWAY_DEPTH)
    step_y = float(layout.horizon + _INSIDE_DEPTH)
    door_in = (door_x + float(rng.uniform(-8, 8)), doorway_y)
    step_in = (door_in[0] + float(rng.uniform(-8, 8)), step_y)
    step_out = (door_x + float(rng.uniform(-8, 8)), step_y)
    door_out = (step_out[0] + float(rng.uniform(-6, 6)), doorway_y)
    speed, door_speed = float(rng.uniform(30, 45)), float(rng.uniform(18, 24))
    pause_in, pause_out = float(rng.uniform(0.6, 1.0)), float(rng.uniform(0.5, 0.9))
    door_time = _dist(door_in, step_in) / door_speed + _dist(step_out, door_out) / door_speed
    budget = (t_out - t_in) - pause_in - pause_out - door_time
    stops = max(1, min(8, round(budget / float(rng.uniform(10, 20)))))  # a stop every 10-20 s
    waypoints = _waypoints(rng, layout, lane=lane, count=stops)
    while True:
        route = [step_in, *waypoints, step_out]
        walk = sum(_dist(a, b) for a, b in itertools.pairwise(route)) / speed
        if walk + 0.5 * len(waypoints) <= budget or len(waypoints) == 1:
            break
        waypoints.pop()
    if walk + 0.5 > budget:  # a short visit: hurry
        speed *= walk / max(budget - 0.5, 0.5 * walk)
        walk = budget - 0.5
    pauses = rng.dirichlet([3.0] * len(waypoints)) * (budget - walk)
    times, points = [t_in, t_in + pause_in], [door_in, door_in]
    times.append(times[-1] + _dist(door_in, step_in) / door_speed)
    points.append(step_in)
    for waypoint, pause in zip(waypoints, pauses, strict=True):
        times.append(times[-1] + _dist(points[-1], waypoint) / speed)
        points.append(waypoint)
        times.append(times[-1] + float(pause))
        points.append(waypoint)
    times.append(times[-1] + _dist(points[-1], step_out) / speed)
    points.append(step_out)
    times.append(times[-1] + _dist(step_out, door_out) / door_speed)
    points.append(door_out)
    times.append(t_out)
    points.append(door_out)
    times[-1] = max(times[-1], times[-2])
    walked = [0.0]
    for a, b in itertools.pairwise(points):
        walked.append(walked[-1] + _dist(a, b))
    line_y = layout.horizon + _LINE_DEPTH
    half = (line_y - doorway_y) / (step_y - doorway_y)
    entry = times[1] + (times[2] - times[1]) * half
    exit_ = times[-3] + (times[-2] - times[-3]) * (1 - half)
    return _Visit(person_id, looks, tuple(times), tuple(points), tuple(walked), entry, exit_)


def _waypoints(rng: np.random.Generator, layout: _Layout, *, lane: int, count: int) -> list[Point]:
    """Stops in the lane's own eighth of the shop (so neighbours rarely overlap), one of them at the
    counter now and then when the counter reaches into the lane."""
    lo, hi = lane * _ZONE + 8, (lane + 1) * _ZONE - 8
    x0, _, x1, y_base = layout.counter
    at_counter = -1
    if max(lo, x0 + 6) < min(hi, x1 - 6) and rng.random() < 0.5:
        at_counter = int(rng.integers(0, count))
    points: list[Point] = []
    for index in range(count):
        if index == at_counter:
            x = float(rng.uniform(max(lo, x0 + 6), min(hi, x1 - 6)))
            points.append((x, float(rng.uniform(y_base + 6, y_base + 22))))
            continue
        x = float(rng.uniform(lo, hi))
        low = _CORRIDOR_FOOT if _DOOR_X[0] - _CORRIDOR <= x <= _DOOR_X[1] + _CORRIDOR else _FOOT_RANGE[0]
        points.append((x, float(rng.uniform(low, _FOOT_RANGE[1]))))
    return points


def _make_looks(rng: np.random.Generator) -> _Looks:
    label = CLASSES[int(rng.integers(0, 2))]
    shirt = _random_color(rng)
    lower = shirt if label == "female" else _TROUSERS[int(rng.integers(0, len(_TROUSERS)))]
    if label == "female" and rng.random() < 0.5:
        lower = _random_color(rng)
    return _Looks(
        label=label,
        scale=float(rng.uniform(0.38, 0.46)),
        shirt=shirt,
        lower=lower,
        hair=_HAIR[int(rng.integers(0, len(_HAIR)))],
        skin=_SKIN[int(rng.integers(0, len(_SKIN)))],
        phase=float(rng.uniform(0, 2 * math.pi)),
    )


def _person(visit: _Visit, t: float) -> _Person:
    times = visit.times
    i = max(0, min(len(times) - 2, bisect.bisect_right(times, t) - 1))
    span = times[i + 1] - times[i]
    f = 0.0 if span <= 0 else min(1.0, max(0.0, (t - times[i]) / span))
    (xa, ya), (xb, yb) = visit.points[i], visit.points[i + 1]
    x, y = xa + (xb - xa) * f, ya + (yb - ya) * f
    walked = visit.walked[i] + (visit.walked[i + 1] - visit.walked[i]) * f
    looks = visit.looks
    return _Person(
        person_id=visit.person_id,
        label=looks.label,
        foot_x=x,
        foot_y=y,
        height=y * looks.scale,
        shirt=looks.shirt,
        lower=looks.lower,
        hair=looks.hair,
        skin=looks.skin,
        phase=looks.phase + walked * 0.22,
        moving=(xa, ya) != (xb, yb),
    )


def _dist(a: Point, b: Point) -> float:
    return math.hypot(b[0] - a[0], b[1] - a[1])


def _counter_zone(layout: _Layout) -> tuple[Point, ...]:
    x0, _, x1, y_base = layout.counter
    top, bottom = float(y_base + 2), float(min(HEIGHT, y_base + 28))
    return ((x0 - 4.0, top), (x1 + 4.0, top), (x1 + 4.0, bottom), (x0 - 4.0, bottom))


def _zones_of(layout: _Layout, x: float, y: float) -> frozenset[str]:
    zone = _counter_zone(layout)
    inside = zone[0][0] <= x <= zone[1][0] and zone[0][1] <= y <= zone[2][1]
    return frozenset({COUNTER_ZONE}) if inside else frozenset()


# --- drawing ------------------------------------------------------------------------------------


def _random_color(rng: np.random.Generator, low: int = 30, high: int = 230) -> Color:
    r, g, b = (int(v) for v in rng.integers(low, high, size=3))
    return (r, g, b)


def _person_box(p: _Person) -> Box:
    half = _half_width(p)
    x1 = max(0.0, p.foot_x - half)
    x2 = min(float(WIDTH), p.foot_x + half)
    y1 = max(0.0, p.foot_y - p.height)
    y2 = min(float(HEIGHT), p.foot_y)
    return (x1, y1, x2, y2)


def _half_width(p: _Person) -> float:
    return p.height * (0.2 if p.label == "male" else 0.22)


def _draw_person(draw: ImageDraw.ImageDraw, p: _Person) -> None:
    h = p.height
    x, feet = p.foot_x, p.foot_y
    head_r = h * 0.075
    head_cy = feet - h + head_r
    neck = head_cy + head_r
    waist = feet - h * 0.47
    swing = math.sin(p.phase) * h * (0.09 if p.moving else 0.02)
    if p.label == "female":
        _draw_female(draw, p, x=x, feet=feet, neck=neck, waist=waist, swing=swing)
    else:
        _draw_male(draw, p, x=x, feet=feet, neck=neck, waist=waist, swing=swing)
    _draw_head(draw, p, x=x, cy=head_cy, r=head_r)


def _draw_male(
    draw: ImageDraw.ImageDraw, p: _Person, *, x: float, feet: float, neck: float, waist: float, swing: float
) -> None:
    h = p.height
    shoulder = h * 0.15
    leg_w = h * 0.05
    for side, sign in ((-1, 1.0), (1, -1.0)):
        hip = x + side * h * 0.055
        draw.polygon(
            [
                (hip - leg_w, waist),
                (hip + leg_w, waist),
                (hip + sign * swing + leg_w, feet),
                (hip + sign * swing - leg_w, feet),
            ],
            fill=p.lower,
        )
    draw.polygon(
        [
            (x - shoulder, neck),
            (x + shoulder, neck),
            (x + h * 0.11, waist + h * 0.03),
            (x - h * 0.11, waist + h * 0.03),
        ],
        fill=p.shirt,
    )
    _draw_arms(draw, p, x=x, neck=neck, reach=shoulder, swing=swing)


def _draw_female(
    draw: ImageDraw.ImageDraw, p: _Person, *, x: float, feet: float, neck: float, waist: float, swing: float
) -> None:
    h = p.height
    shoulder = h * 0.11
    hem = feet - h * 0.17
    for side in (-1, 1):
        lx = x + side * h * 0.04 + side * swing * 0.5
        draw.line([(x + side * h * 0.04, hem), (lx, feet)], fill=p.skin, width=max(1, round(h * 0.035)))
    draw.polygon(
        [
            (x - shoulder, neck),
            (x + shoulder, neck),
            (x + h * 0.08, waist),
            (x + h * 0.22, hem),
            (x - h * 0.22, hem),
            (x - h * 0.08, waist),
        ],
        fill=p.lower,
    )
    draw.polygon(
        [(x - shoulder, neck), (x + shoulder, neck), (x + h * 0.08, waist), (x - h * 0.08, waist)], fill=p.shirt
    )
    _draw_arms(draw, p, x=x, neck=neck, reach=shoulder, swing=swing)


def _draw_arms(draw: ImageDraw.ImageDraw, p: _Person, *, x: float, neck: float, reach: float, swing: float) -> None:
    h = p.height
    width = max(1, round(h * 0.04))
    for side, sign in ((-1, -1.0), (1, 1.0)):
        top = (x + side * reach, neck + h * 0.02)
        hand = (x + side * (reach + h * 0.03) + sign * swing * 0.6, neck + h * 0.33)
        draw.line([top, hand], fill=p.shirt, width=width)


def _draw_head(draw: ImageDraw.ImageDraw, p: _Person, *, x: float, cy: float, r: float) -> None:
    if p.label == "female":
        draw.rectangle([x - r * 1.35, cy - r * 0.6, x + r * 1.35, cy + r * 3.4], fill=p.hair)
        draw.ellipse([x - r * 1.35, cy - r * 1.2, x + r * 1.35, cy + r * 0.6], fill=p.hair)
    draw.ellipse([x - r, cy - r, x + r, cy + r], fill=p.skin)
    if p.label == "male":
        draw.chord([x - r * 1.05, cy - r * 1.1, x + r * 1.05, cy + r * 0.5], 180, 360, fill=p.hair)
    else:
        draw.chord([x - r * 1.1, cy - r * 1.2, x + r * 1.1, cy + r * 0.3], 180, 360, fill=p.hair)


def _draw_counter(draw: ImageDraw.ImageDraw, scene: _Scene) -> None:
    x0, y_top, x1, y_base = scene.counter
    top_color, front_color = scene.counter_colors
    draw.rectangle([x0, y_top, x1, y_top + 6], fill=top_color)
    draw.rectangle([x0, y_top + 6, x1, y_base], fill=front_color)


@lru_cache(maxsize=1024)
def _layout(seed: int) -> _Layout:
    rng = np.random.default_rng([seed & _MASK, 104729])
    horizon = int(rng.integers(*_HORIZON_RANGE))
    width = int(rng.integers(60, 110))
    x0 = int(rng.integers(0, WIDTH - width))
    y_top = int(rng.integers(158, 176))
    return _Layout(horizon=horizon, counter=(x0, y_top, x0 + width, y_top + int(rng.integers(22, 30))))


@lru_cache(maxsize=64)
def _scene(seed: int) -> _Scene:
    layout = _layout(seed)
    rng = np.random.default_rng([seed & _MASK, 15731])
    horizon = layout.horizon
    wall = _random_color(rng, 150, 235)
    floor = _random_color(rng, 70, 170)
    image = Image.new("RGB", (WIDTH, HEIGHT), wall)
    draw = ImageDraw.Draw(image)
    _draw_floor(draw, rng, horizon=horizon, floor=floor)
    _draw_shelves(draw, rng, horizon=horizon)
    _draw_door(draw, rng, horizon=horizon)
    colors = (_random_color(rng), _random_color(rng))
    return _Scene(image, layout.counter, colors, float(rng.uniform(0, 2 * math.pi)))


def _draw_floor(draw: ImageDraw.ImageDraw, rng: np.random.Generator, *, horizon: int, floor: Color) -> None:
    draw.rectangle([0, horizon, WIDTH, HEIGHT], fill=floor)
    tile = int(rng.integers(18, 40))
    r, g, b = (max(0, c - 25) for c in floor)
    for y in range(horizon + tile // 2, HEIGHT, tile):
        draw.line([(0, y), (WIDTH, y)], fill=(r, g, b), width=1)
    draw.line([(0, horizon), (WIDTH, horizon)], fill=(60, 60, 60), width=2)


def _draw_shelves(draw: ImageDraw.ImageDraw, rng: np.random.Generator, *, horizon: int) -> None:
    for _ in range(int(rng.integers(2, 5))):
        w = int(rng.integers(40, 80))
        x0 = int(rng.integers(0, WIDTH - w))
        top = int(rng.integers(10, 35))
        frame = _random_color(rng, 60, 140)
        draw.rectangle([x0, top, x0 + w, horizon - 2], fill=frame)
        for row_y in range(top + 4, horizon - 10, 14):
            px = x0 + 3
            while px < x0 + w - 8:
                pw = int(rng.integers(4, 9))
                draw.rectangle([px, row_y, px + pw, row_y + 9], fill=_random_color(rng))
                px += pw + 2


def _draw_door(draw: ImageDraw.ImageDraw, rng: np.random.Generator, *, horizon: int) -> None:
    x0, x1 = _DOOR_X
    top = horizon - _DOOR_HEIGHT
    draw.rectangle([x0 - 4, top - 4, x1 + 4, horizon], fill=_random_color(rng, 90, 200))  # frame
    draw.rectangle([x0, top, x1, horizon], fill=_random_color(rng, 25, 70))  # the opening
    mat = _random_color(rng, 40, 120)
    draw.polygon(
        [(x0 - 6, horizon + 1), (x1 + 6, horizon + 1), (x1 + 12, horizon + 12), (x0 - 12, horizon + 12)], fill=mat
    )


@lru_cache(maxsize=1)
def _unit_noise() -> NDArray[np.float32]:
    noise: NDArray[np.float32] = np.random.default_rng(2718281).standard_normal(
        HEIGHT * WIDTH * 3 + _NOISE_SPAN, dtype=np.float32
    )
    return noise


@lru_cache(maxsize=_NOISE_LEVELS)
def _noise_bank(level: int) -> NDArray[np.float32]:
    sigma = _NOISE_SIGMA[0] + (_NOISE_SIGMA[1] - _NOISE_SIGMA[0]) * level / (_NOISE_LEVELS - 1)
    bank: NDArray[np.float32] = _unit_noise() * np.float32(sigma)
    return bank


def _finish(image: NDArray[np.uint8], *, seed: int, at: float, scene: _Scene) -> NDArray[np.uint8]:
    """Lighting, colour cast and sensor noise: a slice of a fixed noise bank, chosen per frame."""
    rng = np.random.default_rng([seed & _MASK, round(at * 1000) & _MASK, 15485863])
    light = 0.85 + 0.2 * math.sin(at / 97.0 + scene.light_phase) + rng.uniform(-0.05, 0.05)
    tint = rng.uniform(-12, 12, size=3).astype(np.float32)
    level = int(rng.integers(0, _NOISE_LEVELS))
    offset = int(rng.integers(0, _NOISE_SPAN))
    noise = _noise_bank(level)[offset : offset + image.size].reshape(image.shape)
    out = np.multiply(image, np.float32(light), dtype=np.float32)
    out += tint
    out += noise
    np.clip(out, 0, 255, out=out)
    result: NDArray[np.uint8] = out.astype(np.uint8)
    return result
