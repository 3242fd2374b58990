"""Every frame source kind, for real: generated files, a local HTTP camera, a real RTSP server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.sources.readers import SYNTHETIC_FPS, FrameError, FrameSource, LiveSource, open_source
from inference.sources.spec import Source, SourceKind, parse_source
from inference.synthetic import render
from tests.inference.conftest import SNAPSHOT_PASSWORD, SNAPSHOT_USER, colour_of, solid

EPOCH = 1_700_000_010  # a multiple of 3 * 10: handy for cycling through 3 images / a 3 s video


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(EPOCH + seconds, UTC)


def mean_colour(image: np.ndarray) -> tuple[int, ...]:
    return tuple(round(v) for v in image.reshape(-1, 3).mean(axis=0))


def assert_colour(image: np.ndarray, expected: tuple[int, int, int], *, tolerance: int = 12) -> None:
    assert np.abs(np.array(mean_colour(image)) - np.array(expected)).max() <= tolerance, mean_colour(image)


@pytest.fixture
def opened() -> Iterator[list[FrameSource]]:
    sources: list[FrameSource] = []
    yield sources
    for source in sources:
        source.close()


def open_(opened: list[FrameSource], text: str, *, kind: SourceKind | None = None, timeout: float = 5.0) -> FrameSource:
    source = open_source(parse_source(text, kind=kind), timeout=timeout)
    opened.append(source)
    return source


def test_given_a_still_image_when_read_then_rgb_pixels_come_back(tmp_path: Path, opened: list[FrameSource]) -> None:
    path = tmp_path / "still.jpg"
    Image.fromarray(solid(colour_of(0))).save(path, quality=95)
    frame = open_(opened, str(path)).read(at=at(0))
    assert frame.image.dtype == np.uint8 and frame.image.shape == (120, 160, 3)
    assert_colour(frame.image, colour_of(0))


def test_given_a_folder_of_images_when_time_passes_then_images_cycle_once_per_second(
    image_folder: Path, opened: list[FrameSource]
) -> None:
    source = open_(opened, str(image_folder))
    assert source.source.kind == "folder"
    for second in range(5):
        assert_colour(source.read(at=at(second + 0.5)).image, colour_of(second % 3), tolerance=0)


def test_given_a_video_file_when_read_at_times_then_position_follows_the_clock_and_loops(
    video_file: Path, opened: list[FrameSource]
) -> None:
    source = open_(opened, str(video_file))
    assert source.source.kind == "video"
    for seconds, colour_index in [(0.2, 0), (1.5, 1), (2.9, 2), (3.2, 0), (7.4, 1)]:
        assert_colour(source.read(at=at(seconds)).image, colour_of(colour_index))


def test_given_a_snapshot_url_with_credentials_when_read_then_basic_auth_gets_the_jpeg(
    http_camera: str, opened: list[FrameSource]
) -> None:
    url = http_camera.replace("http://", f"http://{SNAPSHOT_USER}:{SNAPSHOT_PASSWORD}@") + "/snapshot.jpg"
    source = open_(opened, url)
    assert source.source.kind == "snapshot"
    assert SNAPSHOT_PASSWORD not in repr(source) and SNAPSHOT_PASSWORD not in str(source.source)
    frame = source.read(at=at(0))
    assert frame.image.shape == (48, 64, 3)
    assert_colour(frame.image, colour_of(4))


def test_given_a_snapshot_url_with_a_wrong_password_when_read_then_frame_error_without_the_password(
    http_camera: str, opened: list[FrameSource]
) -> None:
    url = http_camera.replace("http://", f"http://{SNAPSHOT_USER}:wrong-pw-123@") + "/snapshot.jpg"
    with pytest.raises(FrameError, match="401") as caught:
        open_(opened, url).read(at=at(0))
    assert "wrong-pw-123" not in str(caught.value)


def test_given_an_mjpeg_stream_when_read_twice_then_frames_come_from_one_background_connection(
    http_camera: str, opened: list[FrameSource]
) -> None:
    source = open_(opened, f"{http_camera}/stream.mjpg", kind="mjpeg")
    assert isinstance(source, LiveSource)
    first = source.read(at=at(0))
    assert first.image.shape == (64, 96, 3)
    assert_colour(first.image, colour_of(5))
    time.sleep(0.3)
    second = source.read(at=at(1))
    assert second.captured_at > first.captured_at
    assert source.connections == 1


def test_given_an_rtsp_stream_when_read_then_live_frames_are_decoded(
    rtsp_camera: str, opened: list[FrameSource]
) -> None:
    source = open_(opened, rtsp_camera, timeout=10.0)
    assert source.source.kind == "rtsp"
    frame = source.read(at=at(0))
    assert frame.image.shape == (120, 160, 3)
    distances = [np.abs(np.array(mean_colour(frame.image)) - np.array(colour_of(i))).max() for i in range(3)]
    assert min(distances) <= 12, "the frame shows one of the video's colours"
    started = time.monotonic()
    source.read(at=at(1))
    assert time.monotonic() - started < 0.5, "a read must not pay the connection cost"


@pytest.mark.parametrize(
    ("template", "kind"),
    [
        ("rtsp://admin:pw-refused@127.0.0.1:{port}/cam", "rtsp"),
        ("http://admin:pw-refused@127.0.0.1:{port}/stream.mjpg", "mjpeg"),
        ("http://admin:pw-refused@127.0.0.1:{port}/snapshot.jpg", "snapshot"),
    ],
)
def test_given_a_dead_camera_when_read_then_frame_error_comes_fast_without_credentials(
    template: str, kind: SourceKind, refused_port: int, opened: list[FrameSource]
) -> None:
    source = open_(opened, template.format(port=refused_port), kind=kind, timeout=5.0)
    started = time.monotonic()
    with pytest.raises(FrameError) as caught:
        source.read(at=at(0))
    assert time.monotonic() - started < 2.0
    assert "pw-refused" not in str(caught.value) and "admin:***@" in str(caught.value)


@pytest.mark.parametrize("kind", ["rtsp", "mjpeg", "snapshot"])
def test_given_a_camera_that_never_answers_when_read_then_frame_error_after_the_timeout(
    kind: SourceKind, silent_port: int, opened: list[FrameSource]
) -> None:
    scheme = "rtsp" if kind == "rtsp" else "http"
    source = open_(opened, f"{scheme}://127.0.0.1:{silent_port}/cam", kind=kind, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(FrameError):
        source.read(at=at(0))
    assert time.monotonic() - started < 4.0


def test_given_a_live_source_when_closed_then_its_thread_stops(http_camera: str) -> None:
    source = open_source(parse_source(f"{http_camera}/stream.mjpg", kind="mjpeg"), timeout=2.0)
    assert isinstance(source, LiveSource)
    source.read(at=at(0))
    source.close()
    assert not source._thread.is_alive()


def test_given_a_synthetic_source_when_read_then_frame_and_truth_match_the_generator(
    opened: list[FrameSource],
) -> None:
    source = open_(opened, "synthetic:42")
    frame = source.read(at=at(12.75))
    expected = render(42, EPOCH + 12.75, fps=SYNTHETIC_FPS)  # the frame of 12.7 s at 10 frames a second
    assert np.array_equal(frame.image, expected.image)
    assert frame.truth == expected.objects
    assert frame.captured_at == at(12.7)


def test_given_a_source_string_when_parsed_then_kind_is_inferred_and_secrets_are_redacted() -> None:
    source = parse_source("rtsp://admin:p%40ss@cam.local:554/live?token=abc123&channel=1", secrets=["extra"])
    assert source.kind == "rtsp"
    assert source.redacted == "rtsp://admin:***@cam.local:554/live?token=***&channel=1"
    assert "p%40ss" not in repr(source) and "abc123" not in repr(source)
    assert source.scrub("failed rtsp://admin:p%40ss@cam.local:554/live?token=abc123&channel=1 p@ss extra") == (
        "failed rtsp://admin:***@cam.local:554/live?token=***&channel=1 *** ***"
    )
    assert parse_source("synthetic:3").kind == "synthetic"
    assert parse_source("https://cam/snap.jpg").kind == "snapshot"
    assert isinstance(parse_source("https://cam/v.mjpg", kind="mjpeg"), Source)
    with pytest.raises(ValueError, match="synthetic"):
        parse_source("synthetic:abc")
    with pytest.raises(ValueError, match="scheme"):
        parse_source("ftp://cam/x.jpg")


@pytest.mark.parametrize("name", ["missing.jpg", "missing.mp4", "broken.mp4", "broken.png"])
def test_given_a_missing_or_corrupt_file_when_read_then_frame_error(
    tmp_path: Path, name: str, opened: list[FrameSource]
) -> None:
    if name.startswith("broken"):
        (tmp_path / name).write_bytes(b"\x00not media at all")
    with pytest.raises(FrameError, match=name):
        open_(opened, str(tmp_path / name)).read(at=at(0))


def test_given_an_empty_folder_when_read_then_frame_error(tmp_path: Path, opened: list[FrameSource]) -> None:
    with pytest.raises(FrameError, match="no images"):
        open_(opened, str(tmp_path)).read(at=at(0))
