"""Frame sources: where a camera's pictures come from.

Every source returns RGB ``uint8`` frames (``H x W x 3``) through :meth:`FrameSource.read`:

========== ================================================= ========================================
kind       source string                                      behaviour
========== ================================================= ========================================
image      a still image file                                 re-read when the file changes
folder     a directory of images                              cycled by time, one image per second
video      a video file                                       looped; the position follows the clock
snapshot   ``http(s)://`` URL answering one JPEG per request  one request per read (keep-alive)
mjpeg      ``http(s)://`` multipart MJPEG stream              live: background reader, latest frame
rtsp       ``rtsp(s)://`` URL                                 live: background reader, latest frame
synthetic  ``synthetic:<seed>``                               :mod:`inference.synthetic`, with truth
========== ================================================= ========================================

Video, MJPEG and RTSP are decoded by FFmpeg through PyAV; images by Pillow. Live sources keep one
connection in a daemon thread that holds the newest frame and reconnects with exponential backoff,
so a read never pays the connection cost. Every network operation has a timeout, and every
failure surfaces as :class:`FrameError` whose message never contains credentials.
"""

from __future__ import annotations

import io
import math
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from core.time import as_utc
from inference.sources.spec import IMAGE_SUFFIXES, Source, synthetic_seed
from inference.synthetic import TruthBox, render

_MAX_BACKOFF = 10.0

RGBImage = NDArray[np.uint8]


class FrameError(Exception):
    """A frame could not be obtained (dead camera, timeout, unreadable file). The message is
    safe to log and to show: it never contains credentials."""


@dataclass(frozen=True)
class Frame:
    """One captured frame; ``truth`` is set by synthetic sources only."""

    image: RGBImage
    captured_at: datetime
    truth: tuple[TruthBox, ...] | None = None


class FrameSource(ABC):
    """Something that yields the current frame of one camera."""

    def __init__(self, source: Source) -> None:
        self.source = source

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source.redacted!r})"

    @abstractmethod
    def read(self, *, at: datetime) -> Frame:
        """The frame for time ``at`` (live sources: the newest one). Raises :class:`FrameError`."""

    def close(self) -> None:  # noqa: B027 - most sources hold nothing
        """Release connections and threads."""

    def _fail(self, what: str, exc: BaseException | None = None) -> FrameError:
        detail = f": {type(exc).__name__}: {exc}" if exc is not None else ""
        return FrameError(self.source.scrub(f"{self.source.kind} {self.source.redacted}: {what}{detail}"))


def open_source(source: Source, *, timeout: float) -> FrameSource:
    """Create the reader for ``source``; live sources start connecting in the background now."""
    match source.kind:
        case "synthetic":
            return SyntheticSource(source)
        case "image":
            return ImageSource(source)
        case "folder":
            return FolderSource(source)
        case "video":
            return VideoSource(source)
        case "snapshot":
            return SnapshotSource(source, timeout=timeout)
        case "mjpeg" | "rtsp":
            return LiveSource(source, timeout=timeout)
    raise ValueError(f"unknown source kind {source.kind!r}")  # pragma: no cover


def decode_image(data: bytes | Path) -> RGBImage:
    """Decode an image file or bytes with Pillow into an RGB uint8 array."""
    with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)


SYNTHETIC_FPS = 10.0
"""The synthetic shop's frame rate: a watcher at up to 10 fps sees every step of people's walk."""


class SyntheticSource(FrameSource):
    """``synthetic:<seed>``: the deterministic shop scene at time ``at``, with ground truth."""

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.seed = synthetic_seed(source)

    def read(self, *, at: datetime) -> Frame:
        frame = render(self.seed, at, fps=SYNTHETIC_FPS)
        return Frame(frame.image, datetime.fromtimestamp(frame.time, UTC), frame.objects)


class ImageSource(FrameSource):
    """A still image file, decoded once and re-read when its modification time changes."""

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self._path = Path(source.target)
        self._cached: tuple[float, RGBImage] | None = None
        self._lock = threading.Lock()

    def read(self, *, at: datetime) -> Frame:
        try:
            mtime = self._path.stat().st_mtime
            with self._lock:
                if self._cached is None or self._cached[0] != mtime:
                    image = decode_image(self._path)
                    image.setflags(write=False)
                    self._cached = (mtime, image)
                image = self._cached[1]
        except (OSError, UnidentifiedImageError) as exc:
            raise self._fail("cannot read image", exc) from None
        return Frame(image, as_utc(at))


class FolderSource(FrameSource):
    """A folder of images (sorted by name), showing image ``floor(t / period) mod n`` at ``t``."""

    def __init__(self, source: Source, *, period: float = 1.0) -> None:
        super().__init__(source)
        self._path = Path(source.target)
        self._period = period

    def files(self) -> list[Path]:
        """The images in the folder, in display order."""
        return sorted(p for p in self._path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())

    def read(self, *, at: datetime) -> Frame:
        try:
            files = self.files()
            if not files:
                raise self._fail("folder has no images")
            chosen = files[math.floor(at.timestamp() / self._period) % len(files)]
            image = decode_image(chosen)
        except (OSError, UnidentifiedImageError) as exc:
            raise self._fail("cannot read folder image", exc) from None
        return Frame(image, as_utc(at))


class VideoSource(FrameSource):
    """A video file played in a loop: at time ``t`` it shows position ``t mod duration``."""

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self._lock = threading.Lock()
        self._container: Any = None
        self._duration = 0.0

    def read(self, *, at: datetime) -> Frame:
        with self._lock:
            try:
                image = self._frame_at(at.timestamp())
            except (av.FFmpegError, OSError, StopIteration, ValueError) as exc:
                self._reset()
                raise self._fail("cannot decode video", exc) from None
        return Frame(image, as_utc(at))

    def _open(self) -> Any:
        if self._container is None:
            container = av.open(self.source.target)
            stream = container.streams.video[0]
            self._duration = _duration(container, stream)
            self._container = container
        return self._container

    def _frame_at(self, timestamp: float) -> RGBImage:
        container = self._open()
        stream = container.streams.video[0]
        position = timestamp % self._duration if self._duration > 0 else 0.0
        base = stream.time_base
        start = float(stream.start_time * base) if stream.start_time is not None else 0.0
        container.seek(int((position + start) / base), stream=stream, backward=True)
        chosen = None
        for frame in container.decode(stream):
            if chosen is not None and frame.time is not None and frame.time > position + start:
                break
            chosen = frame
        if chosen is None:
            raise ValueError("no frame at that position")
        image: RGBImage = chosen.to_ndarray(format="rgb24")
        return image

    def _reset(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def close(self) -> None:
        with self._lock:
            self._reset()


def _duration(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / av.time_base
    return 0.0


class SnapshotSource(FrameSource):
    """An HTTP(S) URL returning one image per GET (basic auth from the URL's user info)."""

    def __init__(self, source: Source, *, timeout: float) -> None:
        super().__init__(source)
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def read(self, *, at: datetime) -> Frame:
        try:
            response = self._client.get(self.source.target)
            response.raise_for_status()
            image = decode_image(response.content)
        except httpx.HTTPStatusError as exc:
            raise self._fail(f"HTTP {exc.response.status_code}") from None
        except (httpx.HTTPError, OSError, UnidentifiedImageError) as exc:
            raise self._fail("snapshot failed", exc) from None
        return Frame(image, datetime.now(UTC))

    def close(self) -> None:
        self._client.close()


class LiveSource(FrameSource):
    """An MJPEG-over-HTTP or RTSP stream read continuously by a background thread.

    The thread keeps the newest decoded frame; :meth:`read` returns it at once. When the stream
    drops, the thread reconnects with exponential backoff (0.5 s doubling to 10 s). A read fails
    fast with the last connection error while there is no fresh frame, and waits at most
    ``timeout`` for the first frame after start-up."""

    def __init__(self, source: Source, *, timeout: float) -> None:
        super().__init__(source)
        self.timeout = timeout
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._frame: Any = None
        self._frame_at = 0.0
        self._error: str | None = None
        self._attempts = 0
        self.connections = 0
        self._thread = threading.Thread(target=self._run, name=f"live:{source.redacted}", daemon=True)
        self._thread.start()

    def read(self, *, at: datetime) -> Frame:
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while not self._fresh() and not self._stop.is_set():
                if self._error is not None and self._attempts > 0:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if not self._fresh():
                reason = self._error or f"no frame within {self.timeout:g}s"
                raise FrameError(self.source.scrub(f"{self.source.kind} {self.source.redacted}: {reason}"))
            frame, received = self._frame, self._frame_at
        image: RGBImage = frame.to_ndarray(format="rgb24")
        return Frame(image, datetime.fromtimestamp(received, UTC))

    def _fresh(self) -> bool:
        return self._frame is not None and time.time() - self._frame_at <= max(self.timeout, 1.0)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            got_frames = False
            try:
                got_frames = self._stream()
                error = "stream ended"
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            with self._cond:
                self._error = self.source.scrub(error)
                self._attempts += 1
                self._cond.notify_all()
            backoff = 0.5 if got_frames else min(backoff * 2, _MAX_BACKOFF)
            self._stop.wait(backoff)

    def _stream(self) -> bool:
        got_frames = False
        options = {"rtsp_transport": "tcp"} if self.source.kind == "rtsp" else {}
        fmt = "mpjpeg" if self.source.kind == "mjpeg" else None
        with av.open(
            self.source.target, format=fmt, options=options, timeout=(self.timeout, self.timeout)
        ) as container:
            self.connections += 1
            for frame in container.decode(video=0):
                with self._cond:
                    self._frame, self._frame_at, self._error = frame, time.time(), None
                    self._cond.notify_all()
                got_frames = True
                if self._stop.is_set():
                    break
        return got_frames

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=self.timeout + 1.0)
