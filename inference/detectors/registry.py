"""The registry of detector loaders: which loader understands a model spec.

A spec is ``"demo"`` (the bundled synthetic-shop model) or a path to a model file. Each loader
says whether it accepts a spec and loads it into a :class:`~inference.detectors.runtime.Detector`;
the first that accepts wins. A new model format is a module with a loader plus one
:func:`register_loader` call here, and neither the runtime nor other loaders change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from inference.demo.model import WEIGHTS, load_demo
from inference.detection import DEMO_DETECTOR, DetectorError
from inference.detectors.runtime import Detector
from inference.detectors.torchscript import is_torchscript, load_torchscript


@dataclass(frozen=True)
class Loader:
    """A named way to turn a spec into a detector."""

    name: str
    accepts: Callable[[str], bool]
    load: Callable[[str], Detector]


_LOADERS: list[Loader] = []
_threads_lock = threading.Lock()


def register_loader(loader: Loader) -> None:
    """Add a loader; later loaders are tried after the earlier ones."""
    _LOADERS.append(loader)


def loader_names() -> list[str]:
    """The registered loaders, in the order they are tried."""
    return [loader.name for loader in _LOADERS]


def load_detector(spec: str, *, torch_threads: int = 0) -> Detector:
    """Load a detector through the first loader that accepts ``spec``.

    ``torch_threads`` > 0 sets torch's CPU thread count (process-wide). Raises
    :class:`DetectorError` with a readable message."""
    with _threads_lock:
        if torch_threads > 0 and torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)
    if spec != DEMO_DETECTOR and not Path(spec).is_file():
        raise DetectorError(f"detector file not found: {spec}")
    for loader in _LOADERS:
        if loader.accepts(spec):
            return loader.load(spec)
    raise DetectorError(f"{Path(spec).name} is neither a TorchScript export nor a demo checkpoint")


def _is_file(spec: str, test: Callable[[Path], bool]) -> bool:
    return spec != DEMO_DETECTOR and test(Path(spec))


register_loader(Loader(name="demo", accepts=lambda spec: spec == DEMO_DETECTOR, load=lambda _spec: load_demo(WEIGHTS)))
register_loader(
    Loader(
        name="torchscript",
        accepts=lambda spec: _is_file(spec, is_torchscript),
        load=lambda spec: load_torchscript(Path(spec)),
    )
)
register_loader(
    Loader(
        name="demo-checkpoint",
        accepts=lambda spec: spec != DEMO_DETECTOR,  # the last resort: load_demo says what is wrong
        load=lambda spec: load_demo(Path(spec)),
    )
)
