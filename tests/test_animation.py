"""animate and AnimationRecorder: GIF and MP4 files with one frame per snapshot, written safely."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

import nnfit.views.animation
from nnfit.core.diagnostics import diagnose
from nnfit.errors import UsageError
from nnfit.views.animation import AnimationRecorder, animate, frames
from nnfit.views.render import FitFigure


def gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as image:
        out = []
        for i in range(image.n_frames):
            image.seek(i)
            out.append(np.asarray(image.convert("RGB")))
        return out


def test_gif_has_one_frame_per_snapshot_at_the_requested_size(lesson_history, tmp_path):
    path = animate(lesson_history, tmp_path / "fit.gif", size=(640, 320), fps=20)
    with Image.open(path) as image:
        assert image.n_frames == len(lesson_history.snapshots) == 21
        assert image.size == (640, 320)
        assert image.info["loop"] == 0
        assert image.info["duration"] == 50


def test_gif_frames_change_and_end_on_the_live_picture(lesson_history, tmp_path):
    path = animate(lesson_history, tmp_path / "fit.gif")
    saved = gif_frames(path)
    assert np.any(saved[0] != saved[1], axis=-1).sum() > 100
    live = FitFigure(lesson_history).render(
        lesson_history.final, note=diagnose(lesson_history).short
    )
    # the GIF's palette is fixed, so its colours may be a shade off the live ones
    assert np.abs(saved[-1].astype(int) - live).mean() < 1.0
    assert np.mean(np.all(saved[-1] == live, axis=-1)) > 0.95


def test_saved_frames_are_the_live_frames(lesson_history):
    saved = list(frames(lesson_history, note="good fit"))
    assert len(saved) == len(lesson_history.snapshots)
    fit = FitFigure(lesson_history)
    assert np.array_equal(saved[-1], fit.render(lesson_history.final, note="good fit"))
    assert np.array_equal(saved[7], fit.render(lesson_history.snapshots[7]))


def test_mp4_with_the_imageio_ffmpeg_binary(lesson_history, tmp_path, monkeypatch):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    monkeypatch.setattr(nnfit.views.animation.shutil, "which", lambda name: None)
    path = animate(lesson_history, tmp_path / "fit.mp4", size=(401, 300))  # odd width is padded
    data = path.read_bytes()
    assert data[4:8] == b"ftyp"  # an MP4 starts with its file-type box
    n_frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert n_frames == len(lesson_history.snapshots)


def test_mp4_without_ffmpeg_says_what_to_install(lesson_history, tmp_path, monkeypatch):
    monkeypatch.setattr(nnfit.views.animation.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    with pytest.raises(UsageError, match=r"nnfit\[video\]"):
        animate(lesson_history, tmp_path / "fit.mp4")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["fit.avi", "fit", "fit.png"])
def test_other_suffixes_are_refused(lesson_history, tmp_path, name):
    with pytest.raises(UsageError, match=r"\.gif or \.mp4"):
        animate(lesson_history, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_kept_unless_overwrite(lesson_history, tmp_path):
    path = tmp_path / "fit.gif"
    path.write_bytes(b"mine")
    with pytest.raises(UsageError, match="already exists"):
        animate(lesson_history, path)
    assert path.read_bytes() == b"mine"  # and with overwrite: test_hostile_outputs


def test_missing_folder_is_refused(lesson_history, tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        animate(lesson_history, tmp_path / "no" / "fit.gif")
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_writing_leaves_no_file(lesson_history, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", broken)
    with pytest.raises(KeyboardInterrupt):
        animate(lesson_history, tmp_path / "fit.gif")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fps", [0, -1, 1000, float("nan"), "10"])
def test_bad_fps_is_refused(lesson_history, tmp_path, fps):
    with pytest.raises(UsageError, match="fps"):
        animate(lesson_history, tmp_path / "fit.gif", fps=fps)


def test_recorder_writes_the_animation_when_training_ends(lesson_history, tmp_path):
    recorder = AnimationRecorder(tmp_path / "fit.gif", size=(400, 200))
    recorder.on_train_begin(lesson_history)
    for snapshot in lesson_history.snapshots:
        recorder.on_snapshot(snapshot)
    recorder.on_train_end(lesson_history)
    with Image.open(tmp_path / "fit.gif") as image:
        assert image.n_frames == len(lesson_history.snapshots)


def test_recorder_checks_the_path_before_training(tmp_path):
    with pytest.raises(UsageError):
        AnimationRecorder(tmp_path / "fit.webm")
