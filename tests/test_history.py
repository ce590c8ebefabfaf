import json

import numpy as np
import pytest

import nnfit
from nnfit.core.history import History


def test_history_round_trips_through_json(lesson_history, tmp_path):
    path = lesson_history.save(tmp_path / "run.json")
    loaded = History.load(path)
    np.testing.assert_array_equal(loaded.losses, lesson_history.losses)
    np.testing.assert_array_equal(loaded.steps, lesson_history.steps)
    np.testing.assert_allclose(loaded.final.y_pred, lesson_history.final.y_pred)
    np.testing.assert_allclose(loaded.x, lesson_history.x)
    assert loaded.noise_floor == lesson_history.noise_floor
    assert loaded.hidden == (10,) and loaded.final.dead == lesson_history.final.dead


def test_non_finite_losses_are_saved_as_null(tmp_path):
    x, y = nnfit.make_data(seed=0)
    history = nnfit.train(nnfit.MLP(1, 10, 1, seed=0), (x, y), nnfit.TrainConfig(lr=1e6, every=1))
    assert not np.isfinite(history.losses).all()
    path = history.save(tmp_path / "h.json")
    json.loads(path.read_text())  # strict JSON: no NaN tokens
    assert "NaN" not in path.read_text()
    assert History.load(path).stop_reason == "diverged"


@pytest.mark.parametrize("text", ["{}", "[1, 2]", '{"format": "other"}', "not json"])
def test_loading_something_else_is_a_data_error(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(nnfit.DataError):
        History.load(path)


def test_loading_a_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(nnfit.DataError, match="no such file"):
        History.load(tmp_path / "missing.json")


def test_saving_over_a_file_needs_overwrite(lesson_history, tmp_path):
    path = tmp_path / "run.json"
    path.write_text("the user's notes")
    with pytest.raises(nnfit.NNFitError, match=r"run\.json"):
        lesson_history.save(path)
    assert path.read_text() == "the user's notes"
    lesson_history.save(path, overwrite=True)
    assert History.load(path).losses.tolist() == lesson_history.losses.tolist()
