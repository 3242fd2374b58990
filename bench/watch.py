"""What watching cameras costs: CPU per camera at 5 fps, cameras per worker, counting accuracy.

Run from the repository root::

    python -m bench.watch                   # all three figures (the accuracy run takes minutes)
    python -m bench.watch --clips 0         # cost only

1. **CPU per camera.** One camera (``synthetic:1``, the demo shop) watched in real time at
   ``--fps`` (default 5) for ``--seconds``: each frame is grabbed (synthesised: it stands in for
   decoding a stream), run through the demo detector and the tracker with the demo camera's
   entrance line and counter zone. The figure is the process's CPU time over wall time; goal at
   most 0.1 core. A per-stage split (frame, detector, tracker) follows, in ms of CPU per frame.
2. **Cameras per worker.** N cameras watched by one worker process as the watcher does it: every
   frame interval, one frame per camera, one batched detector call, one tracker update per camera.
   N doubles while a round fits in 80 % of the frame interval; the figure is the largest N that
   fits, with the worker's torch threads (``BRIEFING_TORCH_THREADS``, default 1).
3. **Accuracy.** Entries counted over ``--clips`` held-out five-minute clips at 5 fps versus the
   synthetic shop's ground truth (:mod:`inference.demo.clips`); goal exact on at least 95 % of the
   clips and within one on all.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from bench.common import Goal, cores, cpu_model
from core.settings import Settings
from inference.cameras import demo_camera
from inference.demo.clips import CLIP_SEEDS, evaluate_clips, summary
from inference.detectors.registry import load_detector
from inference.detectors.runtime import Detector
from inference.synthetic import render
from inference.tracking import CameraTracker

GOAL_CORES = 0.1
HEADROOM = 0.8
START = 1_760_000_001.0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class _Stages:
    frame: float = 0.0
    detect: float = 0.0
    track: float = 0.0
    frames: int = 0


def _tracker(detector: Detector, fps: float) -> CameraTracker:
    camera = demo_camera()
    return CameraTracker(camera.entrance, camera.zones, fps=fps, labels=detector.names)


def cpu_per_camera(detector: Detector, *, fps: float, seconds: float) -> tuple[float, _Stages]:
    """Watch the demo camera in real time; return (cores used, per-stage CPU totals)."""
    tracker = _tracker(detector, fps)
    stages = _Stages()
    period = 1.0 / fps
    for k in range(int(fps * 2)):  # warm-up: allocator, oneDNN kernels
        tracker.update(detector.detect([render(1, START - 10 + k * period, fps=fps).image])[0], START - 10 + k * period)
    wall0, cpu0 = time.perf_counter(), _cpu()
    for k in range(round(seconds * fps)):
        due = wall0 + k * period
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        t = START + k * period
        c0 = time.process_time()
        frame = render(1, t, fps=fps)
        c1 = time.process_time()
        detections = detector.detect([frame.image])[0]
        c2 = time.process_time()
        tracker.update(detections, t)
        c3 = time.process_time()
        stages.frame, stages.detect, stages.track = (
            stages.frame + c1 - c0,
            stages.detect + c2 - c1,
            stages.track + c3 - c2,
        )
        stages.frames += 1
    used = (_cpu() - cpu0) / (time.perf_counter() - wall0)
    return used, stages


def round_seconds(detector: Detector, cameras: int, *, fps: float, rounds: int) -> float:
    """Median wall time of one watcher round over ``cameras`` cameras (grab, batched detect, track)."""
    trackers = [_tracker(detector, fps) for _ in range(cameras)]
    times: list[float] = []
    for k in range(rounds + 2):
        t = START + k / fps
        begin = time.perf_counter()
        frames = [render(seed, t, fps=fps).image for seed in range(1, cameras + 1)]
        found = detector.detect(frames)
        for tracker, detections in zip(trackers, found, strict=True):
            tracker.update(detections, t)
        if k >= 2:
            times.append(time.perf_counter() - begin)
    return sorted(times)[len(times) // 2]


def capacity(detector: Detector, *, fps: float) -> tuple[int, list[tuple[int, float]]]:
    """The most cameras whose round fits in ``HEADROOM`` of the frame interval, and the rounds measured."""
    budget = HEADROOM / fps
    measured: list[tuple[int, float]] = []
    cameras, fits = 1, 0
    while cameras <= 512:
        seconds = round_seconds(detector, cameras, fps=fps, rounds=10)
        measured.append((cameras, seconds))
        if seconds > budget:
            break
        fits = cameras
        cameras *= 2
    if measured and measured[-1][1] > budget and fits:  # interpolate between the last two sizes
        (n0, s0), (n1, s1) = measured[-2], measured[-1]
        fits = max(n0, min(n1, int(n0 + (budget - s0) * (n1 - n0) / (s1 - s0))))
    return fits, measured


def main(argv: Sequence[str] | None = None) -> None:
    """Print the three figures with the machine they were measured on."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fps", type=float, default=5.0, help="frames per second per camera (BRIEFING_WATCH_FPS)")
    parser.add_argument("--seconds", type=float, default=20.0, help="real-time measuring of one camera")
    parser.add_argument("--clips", type=int, default=len(CLIP_SEEDS), help="held-out 5-minute clips (0: skip)")
    parser.add_argument("--workers", type=int, default=2, help="processes for the accuracy run")
    args = parser.parse_args(argv)
    threads = Settings().torch_threads
    detector = load_detector("demo", torch_threads=threads)
    print(f"machine: {cpu_model()}, {cores()}")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s) per worker; frames 320x240 at {args.fps:g} fps"
    )

    used, stages = cpu_per_camera(detector, fps=args.fps, seconds=args.seconds)
    per = 1e3 / max(1, stages.frames)
    print(Goal("CPU per camera", used * 100, GOAL_CORES * 100, "% of a core").line())
    print(
        f"  per frame: grab {stages.frame * per:.2f} ms + detect {stages.detect * per:.2f} ms "
        f"+ track {stages.track * per:.2f} ms CPU ({stages.frames} frames)"
    )

    fits, measured = capacity(detector, fps=args.fps)
    for cameras, seconds in measured:
        print(f"  {cameras:>4} cameras: round {seconds * 1e3:7.1f} ms of {1e3 / args.fps:.0f} ms")
    print(f"cameras per worker process at {args.fps:g} fps: {fits} (rounds within {HEADROOM:.0%} of the interval)")

    if args.clips:
        started = time.perf_counter()
        results = evaluate_clips(CLIP_SEEDS[: args.clips], workers=args.workers)
        print(f"accuracy: {summary(results)} ({time.perf_counter() - started:.0f} s, {args.workers} processes)")


if __name__ == "__main__":
    main()
