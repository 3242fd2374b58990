"""The engine-facing service: one frame and one inference per camera, batched per detector."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from inference.cameras import load_camera_registry
from inference.detection import Detection
from inference.service import InferenceService
from inference.sources.readers import SYNTHETIC_FPS, LiveSource
from inference.synthetic import render

AT = datetime.fromtimestamp(1_760_000_123.4, UTC)


def service_for(tmp_path: Path, cameras: str) -> InferenceService:
    path = tmp_path / "cameras.toml"
    path.write_text(cameras)
    settings = Settings(cameras_file=str(path), frame_timeout_seconds=1.0)
    return InferenceService(settings, load_camera_registry(settings, environ={"PW": "pw-in-env"}))


@pytest.mark.asyncio
async def test_given_the_default_demo_camera_when_observed_then_counts_match_the_synthetic_truth() -> None:
    settings = Settings(cameras_file=None)
    service = InferenceService(settings, load_camera_registry(settings))
    try:
        observations = await service.observe(["demo"], at=AT)
    finally:
        await service.aclose()
    demo = observations["demo"]
    assert demo.error is None
    assert demo.captured_at == datetime.fromtimestamp(1_760_000_123.4, UTC)  # frames every 0.1 s
    assert demo.truth == render(1, AT, fps=SYNTHETIC_FPS).counts()
    assert demo.counts == demo.truth
    assert sum(demo.counts.values()) == len(demo.detections)


@pytest.mark.asyncio
async def test_given_several_cameras_when_observed_then_one_detect_call_serves_all_and_failures_stay_per_camera(
    tmp_path: Path, refused_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = service_for(
        tmp_path,
        f"""
[[cameras]]
id = "a"
source = "synthetic:2"

[[cameras]]
id = "women"
source = "synthetic:3"
labels = {{ female = "woman" }}

[[cameras]]
id = "dead"
source = "rtsp://admin:${{PW}}@127.0.0.1:{refused_port}/cam"
""",
    )
    detector = service.detector("demo")
    calls: list[int] = []
    real_detect = detector.detect

    def counting_detect(frames: list[Any], **kwargs: Any) -> list[list[Detection]]:
        calls.append(len(frames))
        return real_detect(frames, **kwargs)

    monkeypatch.setattr(detector, "detect", counting_detect)
    try:
        observations = await service.observe(["a", "women", "dead", "nope"], at=AT)
        assert calls == [2]  # one forward pass for both readable cameras
    finally:
        await service.aclose()
    assert list(observations) == ["a", "women", "dead", "nope"]
    assert set(observations["a"].counts) == {"male", "female"}
    women = observations["women"]
    assert set(women.counts) == {"woman"} and women.truth == {"woman": render(3, AT).counts()["female"]}
    assert all(d.label == "woman" for d in women.detections)
    dead = observations["dead"]
    assert dead.error is not None and "pw-in-env" not in dead.error and dead.counts == {}
    assert observations["nope"].error == "unknown camera 'nope'"


@pytest.mark.asyncio
async def test_given_a_broken_detector_file_when_observed_then_the_camera_reports_an_error(tmp_path: Path) -> None:
    (tmp_path / "broken.pt").write_bytes(b"not a model")
    service = service_for(tmp_path, '[[cameras]]\nid = "x"\nsource = "synthetic:1"\ndetector = "broken.pt"\n')
    try:
        observations = await service.observe(["x"], at=AT)
    finally:
        await service.aclose()
    assert observations["x"].error is not None and "detector" in observations["x"].error


@pytest.mark.asyncio
async def test_given_a_live_camera_when_the_service_closes_then_its_reader_thread_stops(
    tmp_path: Path, http_camera: str
) -> None:
    service = service_for(
        tmp_path,
        f'[[cameras]]\nid = "live"\nsource = "{http_camera}/stream.mjpg"\nkind = "mjpeg"\nlabels = ["male"]\n',
    )
    observations = await service.observe(["live"], at=AT)
    assert observations["live"].error is None and set(observations["live"].counts) == {"male"}
    source = service._sources["live"]
    assert isinstance(source, LiveSource)
    await service.aclose()
    assert not source._thread.is_alive()
