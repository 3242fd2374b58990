"""What the briefing engine calls: one frame and one inference per camera, off the event loop.

``observe`` grabs the frames of the requested cameras concurrently (worker threads), batches all
frames that share a detector into one ``detect`` call, applies each camera's label mapping and
returns one :class:`Observation` per camera. It never raises for a camera problem: a dead camera,
an unknown id or a broken model file becomes ``Observation.error``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core import metrics
from core.settings import Settings
from core.time import as_utc, utcnow
from inference.cameras import CameraConfig, CameraRegistry
from inference.counting import LabelMap, LabelMapError, count_detections, tally
from inference.detection import Detection, DetectorError
from inference.detectors.registry import load_detector
from inference.detectors.runtime import Detector
from inference.sources.readers import Frame, FrameError, FrameSource, open_source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Observation:
    """One camera at one moment: per-label counts and the (mapped) detections behind them.

    ``error`` is set (and counts are empty) when no frame or no inference was possible;
    ``truth`` holds ground-truth counts for synthetic cameras."""

    camera_id: str
    captured_at: datetime
    counts: dict[str, int] = field(default_factory=dict)
    detections: list[Detection] = field(default_factory=list)
    error: str | None = None
    truth: dict[str, int] | None = None
    frame_size: tuple[int, int] | None = None
    """``(width, height)`` of the frame the detections are in (None without a frame)."""


@dataclass
class _Grab:
    camera: CameraConfig
    frame: Frame | None = None
    error: str | None = None


class InferenceService:
    """Owns detectors (built lazily, once per model) and frame sources (one per camera)."""

    def __init__(self, settings: Settings, registry: CameraRegistry, *, max_workers: int = 8) -> None:
        self._settings = settings
        self._registry = registry
        self._detectors: dict[str, Detector | DetectorError] = {}
        self._sources: dict[str, FrameSource] = {}
        self._lock = threading.Lock()
        self._grab_pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grab")
        self._detect_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detect")

    async def observe(
        self, camera_ids: Sequence[str], *, at: datetime | None = None, confidence: float | None = None
    ) -> dict[str, Observation]:
        """Observe each camera once at ``at`` (default: now); keyed by camera id, never raises
        for a camera problem. Synthetic cameras show exactly the frame of time ``at``.
        ``confidence`` overrides the cameras' own threshold (a tracker wants the weak detections too)."""
        when = as_utc(at or utcnow())
        loop = asyncio.get_running_loop()
        ids = list(dict.fromkeys(camera_ids))
        grabs = await asyncio.gather(*(loop.run_in_executor(self._grab_pool, self._grab, c, when) for c in ids))
        results: dict[str, Observation] = {}
        ready: list[_Grab] = []
        for camera_id, grab in zip(ids, grabs, strict=True):
            if grab is None:
                results[camera_id] = Observation(camera_id, when, error=f"unknown camera {camera_id!r}")
            elif grab.error is not None or grab.frame is None:
                results[camera_id] = Observation(camera_id, when, error=grab.error or "no frame")
            else:
                ready.append(grab)
        if ready:
            inferred = await loop.run_in_executor(self._detect_pool, self._infer, ready, confidence)
            results.update(inferred)
        return {camera_id: results[camera_id] for camera_id in ids}

    async def aclose(self) -> None:
        """Stop live-stream threads and close connections."""
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Synchronous :meth:`aclose`."""
        with self._lock:
            sources, self._sources = list(self._sources.values()), {}
        for source in sources:
            source.close()
        self._grab_pool.shutdown(wait=False, cancel_futures=True)
        self._detect_pool.shutdown(wait=False, cancel_futures=True)

    def detector(self, spec: str) -> Detector:
        """The detector for ``spec`` ("demo" or a path), loaded once. Raises DetectorError."""
        with self._lock:
            cached = self._detectors.get(spec)
            if cached is None:
                try:
                    cached = load_detector(spec, torch_threads=self._settings.torch_threads)
                except DetectorError as exc:
                    cached = exc
                self._detectors[spec] = cached
        if isinstance(cached, DetectorError):
            raise cached
        return cached

    def _source(self, camera: CameraConfig) -> FrameSource:
        with self._lock:
            source = self._sources.get(camera.id)
            if source is None:
                source = open_source(camera.source, timeout=self._settings.frame_timeout_seconds)
                self._sources[camera.id] = source
            return source

    def _grab(self, camera_id: str, at: datetime) -> _Grab | None:
        camera = self._registry.get(camera_id)
        if camera is None:
            return None
        try:
            return _Grab(camera, frame=self._source(camera).read(at=at))
        except FrameError as exc:
            log.warning("camera %s: %s", camera_id, exc)
            return _Grab(camera, error=str(exc))

    def _infer(self, grabs: list[_Grab], confidence: float | None = None) -> dict[str, Observation]:
        by_detector: dict[str, list[_Grab]] = {}
        for grab in grabs:
            by_detector.setdefault(grab.camera.detector, []).append(grab)
        results: dict[str, Observation] = {}
        for spec, group in by_detector.items():
            results.update(self._infer_group(spec, group, confidence))
        return results

    def _infer_group(self, spec: str, group: list[_Grab], confidence: float | None) -> dict[str, Observation]:
        try:
            detector = self.detector(spec)
            maps = [LabelMap.build(detector.names, g.camera.labels) for g in group]
            frames = [g.frame.image for g in group if g.frame is not None]
            with metrics.DETECTOR_SECONDS.labels(detector=spec).time():
                detections = detector.detect(
                    frames,
                    confidence=[g.camera.confidence if confidence is None else confidence for g in group],
                    iou=[g.camera.iou for g in group],
                )
        except (DetectorError, LabelMapError, ValueError, RuntimeError) as exc:
            log.error("detector %s failed: %s", spec, exc)
            return {g.camera.id: _failed(g, f"detector: {exc}") for g in group}
        return {
            g.camera.id: _observation(g, found, label_map)
            for g, found, label_map in zip(group, detections, maps, strict=True)
        }


def _observation(grab: _Grab, found: list[Detection], label_map: LabelMap) -> Observation:
    assert grab.frame is not None
    truth = None
    if grab.frame.truth is not None:
        truth = tally(label_map.apply_labels(t.label for t in grab.frame.truth), label_map)
    return Observation(
        camera_id=grab.camera.id,
        captured_at=grab.frame.captured_at,
        counts=count_detections(found, label_map),
        detections=label_map.apply(found),
        truth=truth,
        frame_size=(int(grab.frame.image.shape[1]), int(grab.frame.image.shape[0])),
    )


def _failed(grab: _Grab, error: str) -> Observation:
    captured = grab.frame.captured_at if grab.frame is not None else datetime.now(UTC)
    return Observation(grab.camera.id, captured, error=error)
