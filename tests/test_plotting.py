"""plot: the final picture as .png, .svg or .pdf, written safely."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nnfit.errors import UsageError
from nnfit.views.plotting import plot


def test_png_has_the_requested_size_and_is_not_blank(lesson_history, tmp_path):
    path = plot(lesson_history, tmp_path / "fit.png", size=(900, 420))
    with Image.open(path) as image:
        assert image.size == (900, 420)
        pixels = np.asarray(image.convert("RGB"))
    red = (pixels[..., 0] > 200) & (pixels[..., 1] < 60) & (pixels[..., 2] < 60)
    assert red.sum() > 1000  # the fit line and the Loss= text
    assert (pixels < 128).all(axis=-1).sum() > 1000  # axes, labels, the diagnosis


def test_default_size(lesson_history, tmp_path):
    with Image.open(plot(lesson_history, tmp_path / "fit.png")) as image:
        assert image.size == (1000, 450)


@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_vector_formats(lesson_history, tmp_path, suffix, magic):
    path = plot(lesson_history, tmp_path / f"fit{suffix}")
    assert path.read_bytes().startswith(magic)


def test_svg_carries_the_diagnosis(lesson_history, tmp_path):
    text = plot(lesson_history, tmp_path / "fit.svg").read_text()
    assert "noise floor" in text


@pytest.mark.parametrize("name", ["fit.jpg", "fit.gif", "fit"])
def test_other_suffixes_are_refused(lesson_history, tmp_path, name):
    with pytest.raises(UsageError, match=r"\.png, \.svg or \.pdf"):
        plot(lesson_history, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_kept_unless_overwrite(lesson_history, tmp_path):
    path = tmp_path / "fit.png"
    path.write_bytes(b"mine")
    with pytest.raises(UsageError, match="already exists"):
        plot(lesson_history, path)
    assert path.read_bytes() == b"mine"  # and with overwrite: test_hostile_outputs


def test_missing_folder_is_refused(lesson_history, tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        plot(lesson_history, tmp_path / "no" / "fit.png")
    assert list(tmp_path.iterdir()) == []


def test_column_names_are_drawn_as_written_never_as_math(lesson_history, tmp_path):
    from dataclasses import replace

    history = replace(lesson_history, x_names=("a$\\frac{$",), y_names=("$x^$",))
    path = plot(history, tmp_path / "fit.png")  # math text would fail to parse these
    assert path.read_bytes()[:4] == b"\x89PNG"
