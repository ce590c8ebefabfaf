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


@pytest.fixture(scope="module")
def ensemble_history():
    """A short seeded ensemble of 4 members that records 2 member lines."""
    from nnfit.core.traindata import prepare

    x, y = nnfit.make_data(seed=0)
    holdout = np.arange(len(x)) % 4 == np.arange(4)[:, None]  # (members, n)
    model = nnfit.MLP(1, 6, 1, members=4, seed=0)
    config = nnfit.TrainConfig(steps=20, every=10, member_lines=2)
    return nnfit.train(model, prepare(x, y, holdout=holdout), config)


def test_an_ensembles_spread_and_member_lines_round_trip(ensemble_history, tmp_path):
    loaded = History.load(ensemble_history.save(tmp_path / "h.json"))
    for before, after in zip(ensemble_history.snapshots, loaded.snapshots, strict=True):
        assert after.y_std.shape == before.y_pred.shape
        assert after.y_members.shape == (2, *before.y_pred.shape)
        np.testing.assert_array_equal(after.y_std, before.y_std)
        np.testing.assert_array_equal(after.y_members, before.y_members)


def test_one_networks_snapshots_have_no_spread_before_or_after_saving(lesson_history, tmp_path):
    text = lesson_history.to_json()
    assert '"y_std"' not in text and '"y_members"' not in text  # records as they always were
    loaded = History.load(lesson_history.save(tmp_path / "h.json"))
    assert all(s.y_std is None and s.y_members is None for s in loaded.snapshots)


def test_a_history_saved_before_the_spread_was_recorded_still_loads(ensemble_history):
    data = ensemble_history.to_dict()
    for record in data["snapshots"]:  # as an older nnfit wrote it
        del record["y_std"], record["y_members"]
    loaded = History.from_dict(data)
    assert loaded.members == 4 and all(s.y_std is None for s in loaded.snapshots)
    np.testing.assert_array_equal(loaded.final.y_pred, ensemble_history.final.y_pred)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda r: r.update(y_std=r["y_std"][:-1]), "y_std must be"),
        (lambda r: r.update(y_std="wide"), "y_std must be a table"),
        (lambda r: r.update(y_members=[]), "y_members must be 1 to 20"),
        (lambda r: r.update(y_members=r["y_members"] * 11), "y_members must be 1 to 20"),
        (lambda r: r.update(y_members=[r["y_pred"], r["y_pred"][:-1]]), "equal shape"),
    ],
)
def test_a_damaged_spread_is_one_data_error(ensemble_history, edit, match):
    data = ensemble_history.to_dict()
    edit(data["snapshots"][1])
    with pytest.raises(nnfit.DataError, match=match):
        History.from_dict(data)
