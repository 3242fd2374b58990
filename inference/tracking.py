"""Tracking and counting for one camera: who is here, who came in, who left, who is at the counter.

:class:`CameraTracker` takes each frame's detections (already mapped to the camera's labels) and
its time. It merges duplicates of one person across classes (class-agnostic NMS), follows people
from frame to frame with ByteTrack (``trackers.ByteTrackTracker``, Roboflow's maintained
implementation), counts a person as *entered* when their track's anchor -- the bottom centre of
the box, their feet -- moves from the outside of the camera's entrance line to the inside, and
*exited* the other way, and counts the people whose feet stand in each zone
(``supervision.PolygonZone``). A track's label is the score-weighted vote of its detections, so a
person whose class flickers for a frame is still counted once, under one label.

Crossings are decided with hysteresis: the anchor must be more than ``margin`` pixels from the
line, within the line segment's extent, on each side in turn. A track first seen inside (someone
already in the shop when counting started, or a track the detector lost and found again) is
not an entry; the same person leaving is still an exit.

Checkpoints: :meth:`CameraTracker.state` returns the counters (entries and exits per label, dwell
time sums) as a JSON-serialisable dict and :meth:`CameraTracker.restore` loads them into a fresh
tracker, e.g. in another worker taking over the camera. ByteTrack's own track state is *not* part of
the checkpoint: after a restore every person in view starts a new track, so people already inside
are not counted again, people then in the doorway are counted when they cross, and the entry
times of people inside are lost (their exits count, their dwell is not known).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from inference.detection import DEFAULT_CONFIDENCE, Box, Detection
from inference.zones import Entrance, Zone

STATE_VERSION = 1
LOW_CONFIDENCE = 0.1
"""Detect at this confidence to feed the tracker: detections between it and the camera's
``confidence`` only keep existing tracks alive (ByteTrack's second association), never count."""
DEFAULT_LOST_SECONDS = 2.0
DEFAULT_MARGIN = 3.0
_DEDUP_IOU = 0.6
_FORGET_SECONDS = 30.0

CrossingKind = Literal["entry", "exit"]


@dataclass(frozen=True, slots=True)
class TrackedPerson:
    """One person in the current frame: track id, voted label, box, line side and zones.

    ``inside`` is ``None`` when the camera has no entrance line or the side is not known yet;
    ``entered_at`` is the time the tracker saw this person cross in (``None`` if it did not)."""

    track_id: int
    label: str
    score: float
    box: Box
    inside: bool | None
    entered_at: float | None
    zones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Crossing:
    """A track crossed the entrance line at frame time ``t``; ``dwell`` (seconds since that track
    entered) is set on exits of tracks whose entry was seen."""

    track_id: int
    label: str
    kind: CrossingKind
    t: float
    dwell: float | None = None


@dataclass(frozen=True)
class TrackedFrame:
    """What one frame adds up to.

    ``counts``: people in view per label (the frame's detections after merging duplicates);
    ``entered`` / ``exited``: crossings per label since counting started (restored counters
    included); ``zones``: zone id -> label -> people whose feet stand in it; ``crossings``: the
    crossings decided on this frame; ``dwell_seconds`` / ``dwell_visits``: the summed stay of
    visits whose entry and exit were both seen, and how many."""

    t: float
    counts: dict[str, int]
    entered: dict[str, int]
    exited: dict[str, int]
    zones: dict[str, dict[str, int]]
    people: tuple[TrackedPerson, ...]
    crossings: tuple[Crossing, ...]
    dwell_seconds: float
    dwell_visits: int

    @property
    def mean_dwell(self) -> float | None:
        """Mean seconds between a person's entry and exit, over the visits seen whole."""
        return self.dwell_seconds / self.dwell_visits if self.dwell_visits else None


@dataclass
class _Track:
    votes: dict[str, float] = field(default_factory=dict)
    side: Literal["in", "out"] | None = None
    entered_at: float | None = None
    last_seen: float = 0.0

    def label(self) -> str:
        return max(self.votes.items(), key=lambda item: item[1])[0]


class CameraTracker:
    """Tracks people on one camera and counts entries, exits and zone occupancy.

    ``entrance`` and ``zones`` come from the camera's config (pixels or 0-1 fractions; fractions
    need ``frame_size`` on :meth:`update`). ``fps`` is the nominal frame rate; frame times passed to
    :meth:`update` drive the motion model, so a skipped frame is handled. ``labels`` are the labels
    that always appear in the per-label dicts (with 0). ``confidence`` is the camera's threshold:
    detections at or above it are counted and may start tracks; weaker ones (pass them, down to
    :data:`LOW_CONFIDENCE`) only continue tracks. ``lost_seconds`` is how long a person the
    detector misses keeps their track; ``margin`` the hysteresis around the line, in pixels.

    Not thread-safe: one tracker per camera, fed in frame order."""

    def __init__(
        self,
        entrance: Entrance | None = None,
        zones: Sequence[Zone] = (),
        *,
        fps: float,
        labels: Sequence[str] = (),
        confidence: float = DEFAULT_CONFIDENCE,
        lost_seconds: float = DEFAULT_LOST_SECONDS,
        margin: float = DEFAULT_MARGIN,
    ) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        ids = [zone.id for zone in zones]
        if len(set(ids)) != len(ids):
            raise ValueError(f"zone ids must be unique, got {ids}")
        self.entrance = entrance
        self.zones = tuple(zones)
        self.fps = fps
        self.margin = margin
        self.confidence = confidence
        self._labels = list(dict.fromkeys(labels))
        self._tracker = ByteTrackTracker(
            lost_track_buffer=max(1, round(lost_seconds * 30)),
            frame_rate=fps,
            track_activation_threshold=confidence,
            high_conf_det_threshold=confidence,
            minimum_consecutive_frames=2,
            minimum_iou_threshold=0.1,
        )
        self._tracks: dict[int, _Track] = {}
        self._entered: dict[str, int] = {}
        self._exited: dict[str, int] = {}
        self._dwell_seconds = 0.0
        self._dwell_visits = 0
        self._last_t: float | None = None
        self._resolved_for: tuple[int, int] | None = None
        self._line: Entrance | None = None
        self._polygons: list[tuple[str, sv.PolygonZone]] = []
        if not self._needs_size():
            self._resolve(0, 0)

    def update(
        self, detections: Sequence[Detection], t: float | datetime, *, frame_size: tuple[int, int] | None = None
    ) -> TrackedFrame:
        """Add one frame: its ``detections`` (in frame pixels, camera labels) taken at time ``t``.
        Pass weak detections too (down to :data:`LOW_CONFIDENCE`): they help follow people.

        ``frame_size`` is ``(width, height)``, needed when the entrance or a zone is given in 0-1
        fractions. Frames must come in time order; a frame older than the last one is ignored by
        the motion model but still counted."""
        now = t.timestamp() if isinstance(t, datetime) else float(t)
        self._ensure_resolved(frame_size)
        kept = _dedup(detections)
        for detection in kept:
            self._label_index(detection.label)
        tracked = self._tracker.update(self._to_sv(kept), timestamp=now)
        zone_masks = {zone_id: zone.trigger(tracked) for zone_id, zone in self._polygons}
        crossings: list[Crossing] = []
        people: list[TrackedPerson] = []
        zones = {zone_id: self._per_label(()) for zone_id, _ in self._polygons}
        for row in range(len(tracked)):
            detection = self._row(tracked, row)
            track_id = int(tracked.tracker_id[row]) if tracked.tracker_id is not None else -1
            zones_in = tuple(zone_id for zone_id, mask in zone_masks.items() if bool(mask[row]))
            counted = detection.score >= self.confidence
            for zone_id in zones_in if counted else ():
                zones[zone_id][detection.label] += 1
            if track_id < 0:
                if not counted:
                    continue
                people.append(TrackedPerson(-1, detection.label, detection.score, detection.box, None, None, zones_in))
                continue
            track = self._tracks.setdefault(track_id, _Track())
            track.votes[detection.label] = track.votes.get(detection.label, 0.0) + detection.score
            track.last_seen = now
            crossing = self._cross(track_id, track, detection.box, now)
            if crossing is not None:
                crossings.append(crossing)
            inside = None if track.side is None else track.side == "in"
            people.append(
                TrackedPerson(
                    track_id, track.label(), detection.score, detection.box, inside, track.entered_at, zones_in
                )
            )
        self._forget(now)
        self._last_t = now
        return TrackedFrame(
            t=now,
            counts=self._per_label(d.label for d in kept if d.score >= self.confidence),
            entered=self._fill(self._entered),
            exited=self._fill(self._exited),
            zones=zones,
            people=tuple(people),
            crossings=tuple(crossings),
            dwell_seconds=self._dwell_seconds,
            dwell_visits=self._dwell_visits,
        )

    def state(self) -> dict[str, Any]:
        """The counters as a JSON-serialisable checkpoint (see the module docstring for what a
        :meth:`restore` from it keeps and loses)."""
        return {
            "version": STATE_VERSION,
            "t": self._last_t,
            "entered": dict(self._entered),
            "exited": dict(self._exited),
            "dwell_seconds": self._dwell_seconds,
            "dwell_visits": self._dwell_visits,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue counting from a :meth:`state` checkpoint (tracks start afresh).

        Raises :class:`ValueError` for a checkpoint of another version or shape."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported tracker state version {state.get('version')!r}")
        entered, exited = _counter(state, "entered"), _counter(state, "exited")
        dwell_seconds, dwell_visits = state.get("dwell_seconds"), state.get("dwell_visits")
        if not isinstance(dwell_seconds, int | float) or not isinstance(dwell_visits, int) or dwell_visits < 0:
            raise ValueError("tracker state: dwell_seconds and dwell_visits must be numbers")
        last_t = state.get("t")
        if last_t is not None and not isinstance(last_t, int | float):
            raise ValueError("tracker state: t must be a number or null")
        self._entered, self._exited = entered, exited
        self._dwell_seconds, self._dwell_visits = float(dwell_seconds), dwell_visits
        self._last_t = None if last_t is None else float(last_t)

    # --- internals ------------------------------------------------------------------------------

    def _cross(self, track_id: int, track: _Track, box: Box, now: float) -> Crossing | None:
        if self._line is None:
            return None
        anchor = ((box[0] + box[2]) / 2, box[3])
        side = self._line.side(anchor, margin=self.margin)
        if side is None or side == track.side:
            return None
        previous, track.side = track.side, side
        if previous is None:
            return None
        label = track.label()
        if side == "in":
            self._entered[label] = self._entered.get(label, 0) + 1
            track.entered_at = now
            return Crossing(track_id, label, "entry", now)
        self._exited[label] = self._exited.get(label, 0) + 1
        dwell = None
        if track.entered_at is not None:
            dwell = now - track.entered_at
            self._dwell_seconds += dwell
            self._dwell_visits += 1
            track.entered_at = None
        return Crossing(track_id, label, "exit", now, dwell)

    def _forget(self, now: float) -> None:
        stale = [i for i, track in self._tracks.items() if now - track.last_seen > _FORGET_SECONDS]
        for track_id in stale:
            del self._tracks[track_id]

    def _needs_size(self) -> bool:
        return (self.entrance is not None and self.entrance.relative) or any(z.relative for z in self.zones)

    def _ensure_resolved(self, frame_size: tuple[int, int] | None) -> None:
        if not self._needs_size():
            return
        if frame_size is None:
            if self._resolved_for is None:
                raise ValueError("frame_size is needed: the entrance or a zone is given in 0-1 fractions")
            return
        if frame_size != self._resolved_for:
            self._resolve(*frame_size)

    def _resolve(self, width: int, height: int) -> None:
        self._resolved_for = (width, height)
        self._line = None if self.entrance is None else self.entrance.resolve(width, height)
        self._polygons = [
            (
                zone.id,
                sv.PolygonZone(
                    np.round(np.array(zone.resolve(width, height).polygon)).astype(np.int64),
                    triggering_anchors=(sv.Position.BOTTOM_CENTER,),
                ),
            )
            for zone in self.zones
        ]

    def _label_index(self, label: str) -> int:
        if label not in self._labels:
            self._labels.append(label)
        return self._labels.index(label)

    def _to_sv(self, detections: Sequence[Detection]) -> sv.Detections:
        if not detections:
            return sv.Detections.empty()
        return sv.Detections(
            xyxy=np.array([d.box for d in detections], dtype=np.float32).reshape(-1, 4),
            confidence=np.array([d.score for d in detections], dtype=np.float32),
            class_id=np.array([self._labels.index(d.label) for d in detections], dtype=np.int64),
        )

    def _row(self, tracked: sv.Detections, row: int) -> Detection:
        x1, y1, x2, y2 = (float(v) for v in tracked.xyxy[row])
        score = float(tracked.confidence[row]) if tracked.confidence is not None else 1.0
        label = self._labels[int(tracked.class_id[row])] if tracked.class_id is not None else self._labels[0]
        return Detection(label=label, score=score, box=(x1, y1, x2, y2))

    def _fill(self, counts: Mapping[str, int]) -> dict[str, int]:
        filled = dict.fromkeys(self._labels, 0)
        filled.update(counts)
        return filled

    def _per_label(self, labels: Iterable[str]) -> dict[str, int]:
        counts = dict.fromkeys(self._labels, 0)
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        return counts


def _counter(state: Mapping[str, Any], key: str) -> dict[str, int]:
    value = state.get(key)
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0 for k, v in value.items()
    ):
        raise ValueError(f"tracker state: {key} must map labels to non-negative integers")
    return dict(value)


def _dedup(detections: Sequence[Detection]) -> list[Detection]:
    """Class-agnostic NMS: one detection per person even when two classes both fire on them."""
    kept: list[Detection] = []
    for detection in sorted(detections, key=lambda d: d.score, reverse=True):
        if all(_iou(detection.box, other.box) < _DEDUP_IOU for other in kept):
            kept.append(detection)
    return kept


def _iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def frames_between(start: float, end: float, *, fps: float) -> list[float]:
    """The frame times ``start + k / fps`` with ``start <= t < end`` (what a watcher samples)."""
    count = max(0, math.ceil((end - start) * fps - 1e-9))
    return [start + k / fps for k in range(count)]
