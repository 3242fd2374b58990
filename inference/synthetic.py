"""A deterministic synthetic shop camera: ``synthetic:<seed>``.

The frame at wall-clock second ``t`` depends only on ``(seed, t)``: a store scene (wall, shelves,
floor, counter) where up to eight people of two visibly different kinds -- ``male`` (short hair,
trousers) and ``female`` (long hair, dress) -- walk in, wander and leave. Each person lives for
many consecutive seconds, so consecutive frames tell a continuous story. Position, size, walking
pose, clothing and skin colour, lighting, sensor noise and partial occlusion (by the counter and
by neighbours) all vary. Every frame comes with its ground truth (boxes and labels), so the same
generator serves as a camera, as a test oracle and as the training set of the demo detector.

How people are scheduled: there are eight *slots*, one per horizontal zone of the shop. Time in a
slot is cut into cycles whose length depends on the seed; in each cycle the slot's random stream
(seeded by ``(seed, slot, cycle)``) decides whether someone visits, when they enter and leave,
who they are and where they walk. Nothing depends on earlier frames, so any ``(seed, t)`` is
rendered directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from inference.detection import Box

WIDTH = 320
HEIGHT = 240
CLASSES: tuple[str, ...] = ("male", "female")
SLOTS = 8
MAX_PEOPLE = SLOTS

_ZONE = WIDTH / SLOTS
_HORIZON_RANGE = (78, 96)
_FOOT_RANGE = (122.0, 236.0)
_HAIR = [(25, 20, 18), (70, 45, 25), (120, 80, 40), (200, 170, 90), (150, 150, 150), (40, 30, 60)]
_SKIN = [(245, 205, 170), (225, 180, 140), (190, 140, 100), (140, 95, 65), (95, 65, 45)]
_TROUSERS = [(40, 45, 70), (30, 30, 30), (90, 80, 60), (60, 70, 50), (110, 110, 120)]

Color = tuple[int, int, int]


@dataclass(frozen=True)
class TruthBox:
    """One person in a synthetic frame: class label and full (amodal) box in frame pixels."""

    label: str
    box: Box


@dataclass(frozen=True)
class SyntheticFrame:
    """A rendered frame (RGB uint8, ``HEIGHT x WIDTH x 3``) with its ground truth."""

    image: NDArray[np.uint8]
    objects: tuple[TruthBox, ...]
    seed: int
    t: int

    def counts(self) -> dict[str, int]:
        """Ground-truth people per class (every class present, zero when absent)."""
        counts = dict.fromkeys(CLASSES, 0)
        for obj in self.objects:
            counts[obj.label] += 1
        return counts


@dataclass(frozen=True)
class _Person:
    label: str
    foot_x: float
    foot_y: float
    height: float
    shirt: Color
    lower: Color
    hair: Color
    skin: Color
    phase: float


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


def render(seed: int, t: float | datetime) -> SyntheticFrame:
    """Render the frame of camera ``synthetic:<seed>`` at time ``t`` with its ground truth."""
    second = to_seconds(t)
    scene = _scene(seed)
    people = people_at(seed, second)
    canvas = scene.background.copy()
    draw = ImageDraw.Draw(canvas)
    y_base = scene.counter[3]
    behind = [p for p in people if p.foot_y < y_base]
    in_front = [p for p in people if p.foot_y >= y_base]
    for person in behind:
        _draw_person(draw, person)
    _draw_counter(draw, scene)
    for person in in_front:
        _draw_person(draw, person)
    image = _finish(np.asarray(canvas), seed=seed, second=second, scene=scene)
    objects = tuple(TruthBox(p.label, _person_box(p)) for p in people)
    return SyntheticFrame(image=image, objects=objects, seed=seed, t=second)


def people_at(seed: int, second: int) -> list[_Person]:
    """Everyone in the shop at ``second``, sorted far to near (drawing order)."""
    people = [p for slot in range(SLOTS) if (p := _slot_person(seed, slot, second)) is not None]
    return sorted(people, key=lambda p: p.foot_y)


def _slot_person(seed: int, slot: int, second: int) -> _Person | None:
    slot_rng = np.random.default_rng([seed, slot, 7919])
    cycle = int(slot_rng.integers(24, 64))
    offset = int(slot_rng.integers(0, cycle))
    index, within = divmod(second + offset, cycle)
    rng = np.random.default_rng([seed, slot, index])
    if rng.random() > 0.62:
        return None
    enter = rng.uniform(0, 0.3 * cycle)
    leave = enter + rng.uniform(0.45, 0.7) * cycle
    if not enter <= within < leave:
        return None
    progress = (within - enter) / (leave - enter)
    return _make_person(rng, slot=slot, progress=progress, second=second)


def _make_person(rng: np.random.Generator, *, slot: int, progress: float, second: int) -> _Person:
    label = CLASSES[int(rng.integers(0, 2))]
    zone_lo = slot * _ZONE + 6
    zone_hi = (slot + 1) * _ZONE - 6
    x_start, x_end = rng.uniform(zone_lo, zone_hi, size=2)
    y_start, y_end = rng.uniform(*_FOOT_RANGE, size=2)
    foot_x = float(x_start + (x_end - x_start) * progress)
    foot_y = float(y_start + (y_end - y_start) * progress)
    height = foot_y * float(rng.uniform(0.38, 0.46))
    shirt = _random_color(rng)
    lower = shirt if label == "female" else _TROUSERS[int(rng.integers(0, len(_TROUSERS)))]
    if label == "female" and rng.random() < 0.5:
        lower = _random_color(rng)
    return _Person(
        label=label,
        foot_x=foot_x,
        foot_y=foot_y,
        height=height,
        shirt=shirt,
        lower=lower,
        hair=_HAIR[int(rng.integers(0, len(_HAIR)))],
        skin=_SKIN[int(rng.integers(0, len(_SKIN)))],
        phase=float(rng.uniform(0, 2 * math.pi)) + second * 1.7,
    )


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
    swing = math.sin(p.phase) * h * 0.09
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


@lru_cache(maxsize=64)
def _scene(seed: int) -> _Scene:
    rng = np.random.default_rng([seed, 104729])
    horizon = int(rng.integers(*_HORIZON_RANGE))
    wall = _random_color(rng, 150, 235)
    floor = _random_color(rng, 70, 170)
    image = Image.new("RGB", (WIDTH, HEIGHT), wall)
    draw = ImageDraw.Draw(image)
    _draw_floor(draw, rng, horizon=horizon, floor=floor)
    _draw_shelves(draw, rng, horizon=horizon)
    width = int(rng.integers(60, 110))
    x0 = int(rng.integers(0, WIDTH - width))
    y_top = int(rng.integers(158, 176))
    counter = (x0, y_top, x0 + width, y_top + int(rng.integers(22, 30)))
    colors = (_random_color(rng), _random_color(rng))
    return _Scene(image, counter, colors, float(rng.uniform(0, 2 * math.pi)))


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


def _finish(image: NDArray[np.uint8], *, seed: int, second: int, scene: _Scene) -> NDArray[np.uint8]:
    rng = np.random.default_rng([seed, second, 15485863])
    light = 0.85 + 0.2 * math.sin(second / 97.0 + scene.light_phase) + rng.uniform(-0.05, 0.05)
    tint = rng.uniform(-12, 12, size=3).astype(np.float32)
    noise_sigma = float(rng.uniform(1.5, 6.0))
    out = image.astype(np.float32) * np.float32(light) + tint
    out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(noise_sigma)
    result: NDArray[np.uint8] = np.clip(out, 0, 255).astype(np.uint8)
    return result
