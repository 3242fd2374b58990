"""Counting accuracy of the demo detector with the tracker, on clips of the synthetic shop.

A clip is ``seconds`` of camera ``synthetic:<seed>`` sampled at ``fps``, starting at
:func:`clip_start` (a door-window boundary, so no crossing straddles the clip's ends). Every frame
goes through the demo detector (in batches) and a :class:`~inference.tracking.CameraTracker` set
up with the seed's entrance line and zones; the entries it counts are compared with the ground
truth of :func:`inference.synthetic.entries`. Clip seeds are held out: the detector was trained on
seeds in :data:`inference.demo.train.TRAIN_SEEDS` only.

``python -m inference.demo.clips`` prints the figure for :data:`CLIP_SEEDS`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from inference.detectors.runtime import Detector
from inference.synthetic import DOOR_WINDOW, door_events, geometry, render
from inference.tracking import LOW_CONFIDENCE, CameraTracker, frames_between
from inference.zones import Entrance, Zone

CLIP_SEEDS = range(2_000_000, 2_000_040)
"""The 40 held-out cameras of the accuracy figure (never used for training)."""
CLIP_SECONDS = 300.0
CLIP_FPS = 5.0
_CLIP_EPOCH = 1_760_000_001  # a multiple of DOOR_WINDOW (3 s)


def clip_start(seed: int) -> float:
    """The start of the clip of camera ``synthetic:<seed>``: a door-window boundary."""
    return _CLIP_EPOCH + DOOR_WINDOW * ((seed * 7919) % 100_000)


@dataclass(frozen=True)
class ClipResult:
    """Counted and true entries and exits of one clip, plus how many frames were processed."""

    seed: int
    frames: int
    true_entries: int
    counted_entries: int
    true_exits: int
    counted_exits: int
    true_by_label: dict[str, int]
    counted_by_label: dict[str, int]

    @property
    def entry_error(self) -> int:
        """Counted minus true entries."""
        return self.counted_entries - self.true_entries


def tracker_for(seed: int, *, fps: float, labels: Sequence[str]) -> CameraTracker:
    """A tracker set up with camera ``synthetic:<seed>``'s entrance line and zones."""
    scene = geometry(seed)
    entrance = Entrance(line=scene.line, inside=scene.inside)
    zones = [Zone(id=zone_id, polygon=polygon) for zone_id, polygon in scene.zones.items()]
    return CameraTracker(entrance, zones, fps=fps, labels=labels)


def run_clip(
    detector: Detector,
    seed: int,
    *,
    start: float | None = None,
    seconds: float = CLIP_SECONDS,
    fps: float = CLIP_FPS,
    batch: int = 25,
) -> ClipResult:
    """Count one clip with ``detector`` and a fresh tracker; compare with the ground truth."""
    begin = clip_start(seed) if start is None else start
    tracker = tracker_for(seed, fps=fps, labels=detector.names)
    times = frames_between(begin, begin + seconds, fps=fps)
    frame = None
    for first in range(0, len(times), batch):
        chunk = [render(seed, t, fps=fps) for t in times[first : first + batch]]
        found = detector.detect([f.image for f in chunk], confidence=LOW_CONFIDENCE)
        for rendered, detections in zip(chunk, found, strict=True):
            frame = tracker.update(detections, rendered.time)
    truth = door_events(seed, begin, begin + seconds)
    true_by_label = dict.fromkeys(detector.names, 0)
    for event in truth:
        if event.kind == "entry":
            true_by_label[event.label] = true_by_label.get(event.label, 0) + 1
    counted = dict(frame.entered) if frame is not None else dict.fromkeys(detector.names, 0)
    return ClipResult(
        seed=seed,
        frames=len(times),
        true_entries=sum(e.kind == "entry" for e in truth),
        counted_entries=sum(counted.values()),
        true_exits=sum(e.kind == "exit" for e in truth),
        counted_exits=sum(frame.exited.values()) if frame is not None else 0,
        true_by_label=true_by_label,
        counted_by_label=counted,
    )


def _run_in_worker(seeds: Sequence[int], seconds: float, fps: float) -> list[ClipResult]:
    import torch

    from inference.detectors.registry import load_detector

    torch.set_num_threads(1)
    detector = load_detector("demo")
    return [run_clip(detector, seed, seconds=seconds, fps=fps) for seed in seeds]


def evaluate_clips(
    seeds: Sequence[int] = CLIP_SEEDS, *, seconds: float = CLIP_SECONDS, fps: float = CLIP_FPS, workers: int = 1
) -> list[ClipResult]:
    """Run :func:`run_clip` with the demo detector on every seed, in ``workers`` processes
    (single-threaded PyTorch each; ``1`` runs in this process)."""
    seeds = list(seeds)
    if workers <= 1:
        return _run_in_worker(seeds, seconds, fps)
    shares = [seeds[i::workers] for i in range(workers)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        parts = list(pool.map(_run_in_worker, shares, [seconds] * workers, [fps] * workers))
    by_seed = {r.seed: r for part in parts for r in part}
    return [by_seed[seed] for seed in seeds]


def summary(results: Sequence[ClipResult]) -> str:
    """One line: exact clips, clips within one, worst error, entries counted vs true."""
    exact = sum(r.entry_error == 0 for r in results)
    within = sum(abs(r.entry_error) <= 1 for r in results)
    worst = max((abs(r.entry_error) for r in results), default=0)
    counted, true = sum(r.counted_entries for r in results), sum(r.true_entries for r in results)
    exits, true_exits = sum(r.counted_exits for r in results), sum(r.true_exits for r in results)
    return (
        f"entries exact on {exact}/{len(results)} clips ({exact / max(1, len(results)):.0%}), "
        f"within ±1 on {within}/{len(results)}, worst error {worst}; {counted} counted vs {true} true entries, "
        f"{exits} vs {true_exits} exits"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Print the counting accuracy on the held-out clips."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=len(CLIP_SEEDS))
    parser.add_argument("--seconds", type=float, default=CLIP_SECONDS)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = evaluate_clips(CLIP_SEEDS[: args.clips], seconds=args.seconds, workers=args.workers)
    for r in results:
        if r.entry_error or r.counted_exits != r.true_exits:
            print(f"seed {r.seed}: entries {r.counted_entries}/{r.true_entries} exits {r.counted_exits}/{r.true_exits}")
    print(summary(results))
    print(f"{sum(r.frames for r in results)} frames in {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
