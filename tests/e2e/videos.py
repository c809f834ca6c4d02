"""Test videos made at test time with Debian's ffmpeg: a face whose frames say which they are, and a black one.

Each frame of the face video is the astronaut with a bright band at a height that encodes the frame's
index, so a picture the server received can be matched to the frame it came from.
"""
from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tests.images import astronaut

FPS = 10
FACE_SECONDS = 3
SIZE = 512
BAND = 12


def missing_ffmpeg() -> bool:
    return shutil.which("ffmpeg") is None


def _encode(folder: Path, name: str, ffmpeg_input: list[str]) -> bytes:
    out = folder / name
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *ffmpeg_input, "-c:v", "libvpx", "-b:v", "3M",
                    "-pix_fmt", "yuv420p", "-auto-alt-ref", "0", str(out)], check=True)
    return out.read_bytes()


@dataclass
class FaceVideo:
    webm: bytes
    frames: list[np.ndarray]   # each frame as ffmpeg decodes it (Chromium's decode differs by < 3/255 on average: tested)

    def frame_at(self, seconds: float) -> int:
        """The index of the frame a player shows at `seconds`."""
        return min(len(self.frames) - 1, int(seconds * FPS + 1e-6))

    def closest(self, picture: np.ndarray) -> tuple[int, float]:
        """The frame most like `picture` (resized to the video's size) and the mean absolute difference (0–255)."""
        if picture.shape[:2] != (SIZE, SIZE):
            picture = np.asarray(Image.fromarray(picture).resize((SIZE, SIZE), Image.BILINEAR))
        errors = [float(np.abs(frame.astype(np.int16) - picture[..., :3].astype(np.int16)).mean()) for frame in self.frames]
        best = int(np.argmin(errors))
        return best, errors[best]


def face_video(folder: Path) -> FaceVideo:
    """3 s at 10 fps, 512×512: the astronaut, with a band whose height tells the frame's index."""
    folder.mkdir(parents=True, exist_ok=True)
    base = astronaut()
    for index in range(FPS * FACE_SECONDS):
        frame = base.copy()
        frame[index * BAND % (SIZE - BAND):][:BAND, :48] = 255   # the band, at the left edge (away from the face)
        Image.fromarray(frame).save(folder / f"in{index:03d}.png")
    webm = _encode(folder, "face.webm", ["-framerate", str(FPS), "-i", str(folder / "in%03d.png")])
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(folder / "face.webm"), str(folder / "out%03d.png")],
                   check=True)
    frames = [np.asarray(Image.open(path).convert("RGB")) for path in sorted(folder.glob("out*.png"))]
    return FaceVideo(webm, frames)


def black_video(folder: Path) -> bytes:
    """2 s of black at 320×240, as a DRM-protected video shows to a capture."""
    folder.mkdir(parents=True, exist_ok=True)
    return _encode(folder, "black.webm", ["-f", "lavfi", "-i", f"color=c=black:s=320x240:r={FPS}:d=2"])


def picture(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
