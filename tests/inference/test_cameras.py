"""The camera registry: file formats, defaults, credentials and readable errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from inference.cameras import CameraFileError, load_camera_registry

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
