"""The camera registry: which cameras exist, read from the operator's cameras file.

``BRIEFING_CAMERAS_FILE`` names a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file with a list
of cameras under ``cameras`` (TOML: ``[[cameras]]`` tables)::

    [[cameras]]
    id = "front"                      # what clients ask for
    name = "Front counter"
    source = "rtsp://admin:${CAM_PASSWORD}@10.0.0.7:554/stream1"
    kind = "rtsp"                     # optional: inferred from the source except for "mjpeg"
    detector = "models/yolo11n.torchscript"   # optional: a file, or "demo" (default)
    labels = { person = "person" }    # optional: detector class -> reported label; others dropped
    confidence = 0.3                  # optional, default 0.25
    iou = 0.5                         # optional, default 0.45
    entrance = { line = [[0.38, 0.48], [0.61, 0.48]], inside = "right" }  # optional: the door's counting line
    zones = [{ id = "counter", polygon = [[137, 200], [218, 200], [218, 226], [137, 226]] }]  # optional

An ``entrance`` line counts people entering (crossing it towards the ``inside`` side) and leaving;
``inside`` is ``"left"`` or ``"right"`` as seen from the line's first point looking towards its
second, on the image (y pointing down). ``zones`` are named polygons counted by the people whose
feet stand in them. Points are pixels, or 0-1 fractions of the frame when every coordinate of
that line or polygon lies between 0 and 1 (see :mod:`inference.zones`).

``${NAME}`` in a source is replaced by that environment variable, so credentials stay out of the
file; the real source is never shown: :class:`CameraConfig` exposes it only through
:class:`~inference.sources.spec.Source`, whose ``str``/``repr`` are redacted. Relative paths are
resolved against the cameras file's folder. Without a file there is one camera, ``demo``, backed
by the synthetic shop and the demo detector.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.settings import Settings
from inference.detection import DEFAULT_CONFIDENCE, DEFAULT_IOU, DEMO_DETECTOR
from inference.sources.spec import Source, SourceKind, parse_source
from inference.zones import Entrance, Point, Zone, polygon_area

DEMO_CAMERA_ID = "demo"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class CameraFileError(Exception):
    """The cameras file is missing, unparsable or invalid; the message says where and why."""


@dataclass(frozen=True)
class CameraConfig:
    """One configured camera. ``source`` prints redacted; ``labels`` is ``None`` for "keep all"."""

    id: str
    name: str
    source: Source
    detector: str = DEMO_DETECTOR
    labels: Mapping[str, str] | None = field(default=None)
    confidence: float = DEFAULT_CONFIDENCE
    iou: float = DEFAULT_IOU
    entrance: Entrance | None = None
    zones: tuple[Zone, ...] = ()

    def public(self) -> dict[str, Any]:
        """A credential-free description, safe for logs and the API."""
        return {"id": self.id, "name": self.name, "kind": self.source.kind, "source": self.source.redacted}


class CameraRegistry:
    """The operator's cameras, looked up by id."""

    def __init__(self, cameras: list[CameraConfig]) -> None:
        self._cameras = {camera.id: camera for camera in cameras}

    def __repr__(self) -> str:
        return f"CameraRegistry({list(self._cameras)})"

    def get(self, camera_id: str) -> CameraConfig | None:
        """The camera with this id, or ``None``."""
        return self._cameras.get(camera_id)

    def all(self) -> list[CameraConfig]:
        """Every camera, in file order."""
        return list(self._cameras.values())

    def __contains__(self, camera_id: object) -> bool:
        return camera_id in self._cameras


def _checked_id(value: str) -> str:
    """A camera or zone id: 1-64 letters, digits, `_ . -`, starting with a letter or digit."""
    if not _ID.match(value):
        raise ValueError("must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
    return value


class _EntranceEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line: list[tuple[float, float]]
    inside: Literal["left", "right"]

    @field_validator("line")
    @classmethod
    def _valid_line(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if len(value) != 2:
            raise ValueError(f"must be two points [[x1, y1], [x2, y2]], got {len(value)}")
        _check_points(value)
        if value[0] == value[1]:
            raise ValueError("the two points must differ")
        return value


class _ZoneEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, AfterValidator(_checked_id)]
    polygon: list[tuple[float, float]]

    @field_validator("polygon")
    @classmethod
    def _valid_polygon(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if len(value) < 3:
            raise ValueError(f"must have at least 3 points [[x, y], ...], got {len(value)}")
        _check_points(value)
        if polygon_area(tuple(value)) <= 0:
            raise ValueError("encloses no area (points on one line?)")
        return value


def _check_points(points: list[tuple[float, float]]) -> None:
    for x, y in points:
        if not (math.isfinite(x) and math.isfinite(y)) or x < 0 or y < 0:
            raise ValueError(f"coordinates must be pixels or 0-1 fractions (>= 0), got [{x}, {y}]")


class _CameraEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, AfterValidator(_checked_id)]
    name: str | None = None
    source: str
    kind: SourceKind | None = None
    detector: str = DEMO_DETECTOR
    labels: dict[str, str] | list[str] | None = None
    confidence: float = Field(default=DEFAULT_CONFIDENCE, gt=0, lt=1)
    iou: float = Field(default=DEFAULT_IOU, gt=0, le=1)
    entrance: _EntranceEntry | None = None
    zones: list[_ZoneEntry] = Field(default_factory=list)

    @field_validator("zones")
    @classmethod
    def _unique_zones(cls, value: list[_ZoneEntry]) -> list[_ZoneEntry]:
        ids = [zone.id for zone in value]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate zone id {duplicates[0]!r}")
        return value


class _CameraFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cameras: list[_CameraEntry] = Field(min_length=1)


DEMO_ENTRANCE = Entrance(line=((122.0, 115.0), (194.0, 115.0)), inside="right")
"""The demo shop's door (``synthetic:1``; :func:`inference.synthetic.geometry` draws the same)."""
DEMO_ZONES = (Zone(id="counter", polygon=((137.0, 200.0), (218.0, 200.0), (218.0, 226.0), (137.0, 226.0))),)
"""The floor in front of the demo shop's counter."""


def demo_camera() -> CameraConfig:
    """The camera used when no cameras file is configured: the synthetic shop with its door and counter."""
    return CameraConfig(
        id=DEMO_CAMERA_ID,
        name="Demo store",
        source=parse_source("synthetic:1"),
        detector=DEMO_DETECTOR,
        entrance=DEMO_ENTRANCE,
        zones=DEMO_ZONES,
    )


def credential_environment() -> Mapping[str, str]:
    """The process environment, read only to substitute ``${NAME}`` credentials in sources."""
    return os.environ


def load_camera_registry(settings: Settings, *, environ: Mapping[str, str] | None = None) -> CameraRegistry:
    """Load the cameras named by ``settings.cameras_file`` (or the demo camera without one).

    ``environ`` supplies ``${NAME}`` substitutions (default: :func:`credential_environment`).
    Raises :class:`CameraFileError` with a readable message for any problem in the file."""
    if not settings.cameras_file:
        return CameraRegistry([demo_camera()])
    env = credential_environment() if environ is None else environ
    return CameraRegistry(load_cameras_file(Path(settings.cameras_file), environ=env))


def load_cameras_file(path: Path, *, environ: Mapping[str, str]) -> list[CameraConfig]:
    """Parse and validate a cameras file; see the module docstring for the format."""
    data = _read(path)
    try:
        parsed = _CameraFile.model_validate(data)
    except ValidationError as exc:
        raise CameraFileError(f"{path}: {_describe(exc, data)}") from None
    cameras: list[CameraConfig] = []
    seen: set[str] = set()
    for index, entry in enumerate(parsed.cameras):
        where = f"{path}: camera #{index + 1} ({entry.id!r})"
        if entry.id in seen:
            raise CameraFileError(f"{where}: duplicate id")
        seen.add(entry.id)
        cameras.append(_build(entry, base_dir=path.parent, environ=environ, where=where))
    return cameras


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CameraFileError(f"cannot read cameras file {path}: {exc.strerror or exc}") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix in (".yaml", ".yml"):
            return yaml.safe_load(text)
    except tomllib.TOMLDecodeError as exc:
        raise CameraFileError(f"{path}: invalid TOML: {exc}") from None
    except yaml.YAMLError as exc:
        raise CameraFileError(f"{path}: invalid YAML: {exc}") from None
    raise CameraFileError(f"{path}: unknown format {suffix!r}; use .toml, .yaml or .yml")


def _describe(exc: ValidationError, data: Any) -> str:
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = ".".join(str(part) for part in loc)
        if len(loc) >= 2 and loc[0] == "cameras" and isinstance(loc[1], int):
            where = f"camera #{loc[1] + 1}" + "".join(f".{p}" for p in loc[2:])
        problems.append(f"{where or 'file'}: {error['msg']}")
    if not isinstance(data, dict):
        return "expected a table/mapping with a 'cameras' list"
    return "; ".join(problems)


def _build(entry: _CameraEntry, *, base_dir: Path, environ: Mapping[str, str], where: str) -> CameraConfig:
    source_text, secrets = _substitute(entry.source, environ=environ, where=where)
    try:
        source = parse_source(source_text, kind=entry.kind, base_dir=base_dir, secrets=secrets)
    except ValueError as exc:
        raise CameraFileError(f"{where}: source: {_scrub(str(exc), secrets)}") from None
    detector = entry.detector
    if detector != DEMO_DETECTOR and not Path(detector).expanduser().is_absolute():
        detector = str(base_dir / detector)
    labels = entry.labels
    if isinstance(labels, list):
        labels = {label: label for label in labels}
    if labels is not None and not labels:
        raise CameraFileError(f"{where}: labels: must name at least one class")
    return CameraConfig(
        id=entry.id,
        name=entry.name or entry.id,
        source=source,
        detector=detector,
        labels=labels,
        confidence=entry.confidence,
        iou=entry.iou,
        entrance=_entrance(entry.entrance),
        zones=tuple(Zone(id=zone.id, polygon=_points(zone.polygon)) for zone in entry.zones),
    )


def _entrance(entry: _EntranceEntry | None) -> Entrance | None:
    if entry is None:
        return None
    first, second = _points(entry.line)
    return Entrance(line=(first, second), inside=entry.inside)


def _points(points: list[tuple[float, float]]) -> tuple[Point, ...]:
    return tuple((float(x), float(y)) for x, y in points)


def _substitute(text: str, *, environ: Mapping[str, str], where: str) -> tuple[str, list[str]]:
    secrets: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise CameraFileError(f"{where}: source uses ${{{name}}} but that environment variable is not set")
        secrets.append(environ[name])
        return environ[name]

    return _ENV_REF.sub(replace, text), secrets


def _scrub(message: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message
