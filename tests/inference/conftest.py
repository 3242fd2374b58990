"""Real media and real servers for the inference tests: generated videos and images, a local
HTTP server (JPEG snapshots and an MJPEG stream), and a real RTSP server (MediaMTX) fed by
Debian's ffmpeg."""

from __future__ import annotations

import base64
import io
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from devtools.services import free_port, stop_process, wait_for_port

FPS = 10
VIDEO_SECONDS = 3
SNAPSHOT_USER, SNAPSHOT_PASSWORD = "viewer", "s3cret-pass"
MJPEG_BOUNDARY = "frameboundary"


def colour_of(index: int) -> tuple[int, int, int]:
    """A distinct solid colour per frame index, far apart so lossy codecs keep them apart."""
    palette = [(230, 30, 30), (30, 230, 30), (30, 30, 230), (230, 230, 30), (30, 230, 230), (230, 30, 230)]
    return palette[index % len(palette)]


def solid(colour: tuple[int, int, int], *, width: int = 160, height: int = 120) -> np.ndarray:
    return np.full((height, width, 3), colour, dtype=np.uint8)


def jpeg_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def video_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 s, 10 fps H.264 video whose colour changes every second (seconds 0, 1, 2)."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.options = {"g": str(FPS)}
        for index in range(FPS * VIDEO_SECONDS):
            frame = av.VideoFrame.from_ndarray(solid(colour_of(index // FPS)), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three PNGs (a, b, c) of colours 0, 1, 2."""
    folder = tmp_path_factory.mktemp("folder")
    for index, name in enumerate("abc"):
        Image.fromarray(solid(colour_of(index))).save(folder / f"{name}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


class _Handler(BaseHTTPRequestHandler):
    server_version = "TestCam/1.0"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/snapshot.jpg":
            self._snapshot()
        elif self.path == "/stream.mjpg":
            self._mjpeg()
        else:
            self.send_error(404)

    def _snapshot(self) -> None:
        expected = base64.b64encode(f"{SNAPSHOT_USER}:{SNAPSHOT_PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="cam"')
            self.end_headers()
            return
        body = jpeg_bytes(solid(colour_of(4), width=64, height=48))
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _mjpeg(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={MJPEG_BOUNDARY}")
        self.end_headers()
        body = jpeg_bytes(solid(colour_of(5), width=96, height=64))
        try:
            for _ in range(FPS * 60):
                self.wfile.write(f"--{MJPEG_BOUNDARY}\r\n".encode())
                self.wfile.write(f"Content-Type: image/jpeg\r\nContent-Length: {len(body)}\r\n\r\n".encode())
                self.wfile.write(body + b"\r\n")
                self.wfile.flush()
                self.server.mjpeg_frames += 1  # type: ignore[attr-defined]
                time.sleep(1 / FPS)
        except (BrokenPipeError, ConnectionResetError):
            return


@pytest.fixture(scope="session")
def http_camera() -> Iterator[str]:
    """Base URL of a local HTTP camera: /snapshot.jpg (basic auth) and /stream.mjpg."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.mjpeg_frames = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def refused_port() -> int:
    """A local port with nothing listening: connections are refused at once."""
    return free_port()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A local port that accepts connections and never says anything."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(sock.getsockname()[1])
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    sock.close()


def mediamtx_binary() -> str | None:
    """MediaMTX from PATH or Go's default bin folder."""
    found = shutil.which("mediamtx")
    if found:
        return found
    candidate = Path.home() / "go" / "bin" / "mediamtx"
    return str(candidate) if candidate.is_file() else None


def wait_for_stream(url: str, *, timeout: float = 30.0, keep_publishing: Callable[[], None] | None = None) -> None:
    """Wait until the publisher is on air (the server answers 404 until then); `keep_publishing`
    restarts a publisher that gave up (ffmpeg exits when its first connection attempt fails)."""
    deadline = time.monotonic() + timeout
    while True:
        if keep_publishing is not None:
            keep_publishing()
        try:
            with av.open(url, options={"rtsp_transport": "tcp"}, timeout=(2.0, 2.0)) as container:
                next(container.decode(video=0))
                return
        except (av.FFmpegError, StopIteration):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="session")
def rtsp_camera(tmp_path_factory: pytest.TempPathFactory, video_file: Path) -> Iterator[str]:
    """``rtsp://127.0.0.1:<port>/cam``: MediaMTX re-serving the test video, looped by ffmpeg."""
    binary, ffmpeg = mediamtx_binary(), shutil.which("ffmpeg")
    if binary is None:
        pytest.skip("mediamtx binary not found (build it as described in the README: make rtsp-server)")
    if ffmpeg is None:
        pytest.skip("ffmpeg not found (apt-get install ffmpeg)")
    folder = tmp_path_factory.mktemp("rtsp")
    port = free_port()
    config = folder / "mediamtx.yml"
    config.write_text(
        "\n".join(
            [
                "logLevel: warn",
                f"rtspAddress: 127.0.0.1:{port}",
                "rtspTransports: [tcp]",
                *(f"{name}: no" for name in ("rtmp", "hls", "webrtc", "srt", "api", "metrics", "pprof", "playback")),
                "paths:",
                "  all_others:",
                "",
            ]
        )
    )
    log = (folder / "mediamtx.log").open("w")
    server = subprocess.Popen([binary, str(config)], stdout=log, stderr=subprocess.STDOUT)
    publisher: subprocess.Popen[bytes] | None = None
    try:
        wait_for_port(port)
        url = f"rtsp://127.0.0.1:{port}/cam"
        feed = ["-re", "-stream_loop", "-1", "-i", str(video_file), "-c", "copy"]
        command = [ffmpeg, "-nostdin", "-loglevel", "error", *feed, "-f", "rtsp", "-rtsp_transport", "tcp", url]

        def keep_publishing() -> None:
            nonlocal publisher
            if publisher is None or publisher.poll() is not None:
                publisher = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)

        wait_for_stream(url, keep_publishing=keep_publishing)
        yield url
    finally:
        for process in (publisher, server):
            if process is not None:
                stop_process(process, timeout=5)
        log.close()
