"""Loader of Ultralytics YOLO TorchScript exports (YOLOv8 / YOLO11 ``detect``).

Recognised by the ``config.txt`` extra file of the archive (JSON: ``names``, ``imgsz``,
``stride``, ``task``); class names and input size are read from it.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from inference.detection import DetectorError
from inference.detectors.runtime import Detector, Model, first_tensor


def is_torchscript(path: Path) -> bool:
    """Whether ``path`` is a TorchScript archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("constants.pkl") or "/code/" in name for name in archive.namelist())
    except zipfile.BadZipFile:
        return False


def load_torchscript(path: Path) -> Detector:
    """Load an Ultralytics TorchScript export, reading names and input size from ``config.txt``."""
    extra: dict[str, Any] = {"config.txt": ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch 2.9+ marks TorchScript deprecated
            model = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)  # type: ignore[no-untyped-call]
    except (RuntimeError, ValueError) as exc:
        raise DetectorError(f"cannot load TorchScript model {path.name}: {exc}") from exc
    config = _parse_config(extra["config.txt"], path)
    model.eval()
    names = _names(config, path)
    imgsz = _imgsz(config, path)
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    wrapped: Model = model if dtype == torch.float32 else _Cast(model, dtype)
    return Detector(wrapped, names=names, imgsz=imgsz, source=path.name)


class _Cast:
    def __init__(self, model: torch.jit.ScriptModule, dtype: torch.dtype) -> None:
        self._model, self._dtype = model, dtype

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return first_tensor(self._model(x.to(self._dtype))).float()


def _parse_config(raw: object, path: Path) -> dict[str, Any]:
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    if not text:
        raise DetectorError(f"{path.name} has no config.txt: not an Ultralytics TorchScript export")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DetectorError(f"{path.name}: config.txt is not JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise DetectorError(f"{path.name}: config.txt must hold a JSON object")
    task = config.get("task", "detect")
    if task != "detect":
        raise DetectorError(f"{path.name}: task {task!r} is not supported (only 'detect')")
    return config


def _names(config: dict[str, Any], path: Path) -> list[str]:
    names = config.get("names")
    if isinstance(names, dict):
        try:
            by_index = {int(k): str(v) for k, v in names.items()}
        except ValueError as exc:
            raise DetectorError(f"{path.name}: class indices in names must be integers") from exc
        return [by_index.get(i, str(i)) for i in range(max(by_index) + 1)] if by_index else []
    if isinstance(names, list):
        return [str(n) for n in names]
    raise DetectorError(f"{path.name}: config.txt has no 'names'")


def _imgsz(config: dict[str, Any], path: Path) -> tuple[int, int]:
    size = config.get("imgsz")
    if isinstance(size, int):
        return (size, size)
    if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size):
        return (size[0], size[1])
    raise DetectorError(f"{path.name}: config.txt has no valid 'imgsz' (got {size!r})")
