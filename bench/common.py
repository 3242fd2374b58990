"""Shared helpers of the engine benchmarks (``bench/ticks.py``, ``bench/fanout.py``).

Statistics, the result table with ratios to goals, the environment of server and worker
processes, and the detector used by the demo camera: the bundled ``inference/demo/demo.pt`` when
it has been trained, otherwise an untrained demo network of the same architecture written to a
scratch folder (same forward cost, meaningless counts), so a scheduling benchmark never depends
on a training run.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Goal:
    """One measured figure and the goal it is compared with (lower is better)."""

    name: str
    value: float
    goal: float
    unit: str

    def line(self) -> str:
        """``name value unit (goal g unit, ratio r)``."""
        ratio = self.value / self.goal if self.goal else math.nan
        return f"{self.name} {self.value:.1f} {self.unit} (goal {self.goal:g} {self.unit}, ratio {ratio:.2f})"


def ms_summary(values_s: Sequence[float]) -> str:
    """``p50 / p99 / max`` of seconds, printed in milliseconds."""
    if not values_s:
        return "no samples"
    p50, p99 = percentile(values_s, 50) * 1e3, percentile(values_s, 99) * 1e3
    return f"p50 {p50:8.1f}  p99 {p99:8.1f}  max {max(values_s) * 1e3:8.1f} ms  (n={len(values_s)})"


def demo_camera_file(scratch: Path) -> tuple[Path | None, str]:
    """A cameras file for the demo camera when the bundled demo weights are missing.

    Returns ``(None, note)`` when ``inference/demo/demo.pt`` exists (the default registry is used),
    else ``(path, note)`` of a TOML file whose ``demo`` camera uses untrained demo weights saved in
    ``scratch``."""
    from inference.demo.model import WEIGHTS, DemoNet, save_demo

    if WEIGHTS.exists():
        return None, f"detector: bundled demo weights ({WEIGHTS.name})"
    weights = scratch / "demo-untrained.pt"
    save_demo(DemoNet(), weights)
    cameras = scratch / "cameras.toml"
    cameras.write_text(
        f'[[cameras]]\nid = "demo"\nname = "Demo store"\nsource = "synthetic:1"\ndetector = "{weights}"\n',
        encoding="utf-8",
    )
    return (
        cameras,
        "detector: UNTRAINED demo network (inference/demo/demo.pt is missing; same cost, counts meaningless)",
    )


def cores() -> str:
    """``logical cores (usable by this process)``."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{os.cpu_count()} logical cores ({usable} usable), host {socket.gethostname()}"


def cpu_model() -> str:
    """The CPU's model name, to print beside every figure."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"
