"""The camera registry: file formats, defaults, credentials and readable errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from inference.cameras import CameraFileError, load_camera_registry
from inference.zones import Entrance, Zone

ENV = {"CAM_PASSWORD": "hunter2-secret"}


def registry_from(tmp_path: Path, name: str, text: str, environ: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(text)
    return load_camera_registry(Settings(cameras_file=str(path)), environ=ENV if environ is None else environ)


def test_given_no_cameras_file_when_loading_then_there_is_one_synthetic_demo_camera() -> None:
    registry = load_camera_registry(Settings(cameras_file=None))
    [camera] = registry.all()
    assert (camera.id, camera.name, camera.detector, camera.source.kind) == ("demo", "Demo store", "demo", "synthetic")
    assert registry.get("demo") is camera and registry.get("nope") is None


def test_given_a_toml_file_when_loading_then_every_field_is_read_and_paths_are_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "shop.jpg").write_bytes(b"")
    registry = registry_from(
        tmp_path,
        "cameras.toml",
        """
[[cameras]]
id = "front"
name = "Front door"
source = "rtsp://admin:${CAM_PASSWORD}@10.0.0.7:554/stream1"
detector = "models/yolo11n.torchscript"
labels = { person = "person" }
confidence = 0.3
iou = 0.5

[[cameras]]
id = "still"
source = "shop.jpg"
labels = ["male"]
""",
    )
    front, still = registry.all()
    assert front.id == "front" and front.name == "Front door"
    assert front.source.kind == "rtsp"
    assert front.source.target == "rtsp://admin:hunter2-secret@10.0.0.7:554/stream1"
    assert front.detector == str(tmp_path / "models/yolo11n.torchscript")
    assert front.labels == {"person": "person"}
    assert (front.confidence, front.iou) == (0.3, 0.5)
    assert still.name == "still" and still.source.kind == "image"
    assert still.source.target == str(tmp_path / "shop.jpg")
    assert still.labels == {"male": "male"} and still.detector == "demo"


def test_given_a_credential_in_a_source_when_shown_anywhere_then_it_is_redacted(tmp_path: Path) -> None:
    registry = registry_from(
        tmp_path,
        "cameras.yaml",
        "cameras:\n  - id: door\n    name: Door\n"
        "    source: http://user:${CAM_PASSWORD}@cam.local/mjpg\n    kind: mjpeg\n",
    )
    camera = registry.get("door")
    assert camera is not None
    shown = [repr(camera), str(camera.source), repr(camera.source), str(camera.public()), repr(registry)]
    assert all("hunter2" not in text for text in shown)
    assert camera.public() == {
        "id": "door",
        "name": "Door",
        "kind": "mjpeg",
        "source": "http://user:***@cam.local/mjpg",
    }
    assert camera.source.scrub("error at hunter2-secret") == "error at ***"


def test_given_a_yaml_file_with_a_rename_mapping_when_loading_then_labels_are_kept(tmp_path: Path) -> None:
    registry = registry_from(
        tmp_path,
        "cameras.yml",
        "cameras:\n  - {id: cafe, source: 'synthetic:7', labels: {'0': male, '1': female}}\n",
    )
    camera = registry.get("cafe")
    assert camera is not None and camera.labels == {"0": "male", "1": "female"}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c.toml", "[[cameras]\nid = 1", "invalid TOML"),
        ("c.yaml", "cameras: [", "invalid YAML"),
        ("c.json", "{}", "unknown format"),
        ("c.toml", "[[cameras]]\nname = 'x'\nsource = 'synthetic:1'", "camera #1.id: Field required"),
        ("c.toml", "[[cameras]]\nid = 'a'\nsource = 'synthetic:1'\ncolour = 'red'", "camera #1.colour: Extra inputs"),
        ("c.toml", "[[cameras]]\nid = 'a'\nsource = 'synthetic:1'\nconfidence = 1.5", "camera #1.confidence"),
        ("c.toml", "[[cameras]]\nid = 'a b'\nsource = 'synthetic:1'", "camera #1.id"),
        ("c.toml", "[[cameras]]\nid = 'a'\nsource = 'synthetic:x'", "synthetic:<integer seed>"),
        ("c.toml", "[[cameras]]\nid = 'a'\nsource = 'ftp://x/y'", "unsupported source scheme"),
        (
            "c.toml",
            "[[cameras]]\nid = 'a'\nsource = 'synthetic:1'\n[[cameras]]\nid = 'a'\nsource = 'synthetic:2'",
            "duplicate id",
        ),
        (
            "c.toml",
            "[[cameras]]\nid = 'a'\nsource = 'rtsp://u:${NOT_SET}@h/'",
            "${NOT_SET} but that environment variable is not set",
        ),
        ("c.toml", "cameras = []", "cameras"),
        ("c.yaml", "- 1\n- 2", "expected a table/mapping"),
    ],
)
def test_given_a_bad_cameras_file_when_loading_then_a_readable_error_names_the_problem(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    with pytest.raises(CameraFileError) as caught:
        registry_from(tmp_path, name, text)
    assert message in str(caught.value)
    assert str(tmp_path) in str(caught.value)


def test_given_a_missing_cameras_file_when_loading_then_the_error_says_so(tmp_path: Path) -> None:
    with pytest.raises(CameraFileError, match="cannot read cameras file"):
        load_camera_registry(Settings(cameras_file=str(tmp_path / "missing.toml")), environ={})


def test_given_the_demo_camera_then_its_entrance_and_zones_are_the_synthetic_shops_door_and_counter() -> None:
    from inference.synthetic import geometry

    [camera] = load_camera_registry(Settings(cameras_file=None)).all()
    scene = geometry(1)
    assert camera.entrance == Entrance(line=scene.line, inside=scene.inside)
    assert camera.zones == tuple(Zone(id=zone_id, polygon=polygon) for zone_id, polygon in scene.zones.items())
    assert [zone.id for zone in camera.zones] == ["counter"]


def test_given_an_entrance_and_zones_in_toml_when_loading_then_lines_and_polygons_are_read(tmp_path: Path) -> None:
    registry = registry_from(
        tmp_path,
        "cameras.toml",
        """
[[cameras]]
id = "shop"
source = "synthetic:1"
entrance = { line = [[0.4, 0.5], [0.6, 0.5]], inside = "left" }
zones = [
    { id = "counter", polygon = [[10, 200], [90, 200], [90, 230]] },
    { id = "aisle", polygon = [[0, 0], [1, 0], [1, 1]] },
]
""",
    )
    camera = registry.get("shop")
    assert camera is not None and camera.entrance is not None
    assert camera.entrance == Entrance(line=((0.4, 0.5), (0.6, 0.5)), inside="left")
    assert camera.entrance.relative
    counter, aisle = camera.zones
    assert counter == Zone(id="counter", polygon=((10.0, 200.0), (90.0, 200.0), (90.0, 230.0)))
    assert not counter.relative and aisle.relative


def test_given_a_yaml_camera_without_an_entrance_when_loading_then_it_has_none_and_no_zones(tmp_path: Path) -> None:
    registry = registry_from(tmp_path, "cameras.yaml", "cameras:\n  - {id: cafe, source: 'synthetic:7'}\n")
    camera = registry.get("cafe")
    assert camera is not None and camera.entrance is None and camera.zones == ()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("entrance = { line = [[0, 0]], inside = 'left' }", "camera #1.entrance.line: Value error, must be two points"),
        ("entrance = { line = [[0, 0], [0, 0]], inside = 'left' }", "the two points must differ"),
        ("entrance = { line = [[0, 0], [5, 5]], inside = 'up' }", "camera #1.entrance.inside: Input should be 'left'"),
        ("entrance = { line = [[0, 0], [5, 5]] }", "camera #1.entrance.inside: Field required"),
        ("entrance = { line = [[-1, 0], [5, 5]], inside = 'left' }", "coordinates must be pixels or 0-1 fractions"),
        ("entrance = { line = [[0, 0, 0], [5, 5]], inside = 'left' }", "camera #1.entrance.line.0"),
        (
            "zones = [{ id = 'c', polygon = [[0, 0], [5, 5]] }]",
            "camera #1.zones.0.polygon: Value error, must have at least 3",
        ),
        ("zones = [{ id = 'c', polygon = [[0, 0], [5, 5], [9, 9]] }]", "encloses no area"),
        ("zones = [{ id = 'a b', polygon = [[0, 0], [5, 0], [5, 5]] }]", "camera #1.zones.0.id"),
        ("zones = [{ polygon = [[0, 0], [5, 0], [5, 5]] }]", "camera #1.zones.0.id: Field required"),
        (
            "zones = [{ id = 'c', polygon = [[0, 0], [5, 0], [5, 5]] },"
            " { id = 'c', polygon = [[1, 1], [5, 1], [9, 5]] }]",
            "duplicate zone id 'c'",
        ),
    ],
)
def test_given_a_bad_entrance_or_zone_when_loading_then_a_readable_error_names_it(
    tmp_path: Path, fields: str, message: str
) -> None:
    with pytest.raises(CameraFileError) as caught:
        registry_from(tmp_path, "c.toml", f"[[cameras]]\nid = 'a'\nsource = 'synthetic:1'\n{fields}\n")
    assert message in str(caught.value)
