import nnfit
from nnfit.checks import flag
from nnfit.core.diagnostics import GAP, GAP_R2, Diagnosis, Hint, advice, in_units, worded
from nnfit.views.phrasing import phrased

STALLED = (
    Hint("lr", "lower"),
    Hint("seed", "another"),
    Hint("optimizer", value="adam"),
    Hint("hidden", "more", unit="units"),
)


def test_hints_are_worded_by_field_in_the_core_and_by_flag_for_people():
    diagnosis = Diagnosis("stalled", "The loss stalled." + advice(STALLED), "loss stalled", STALLED)
    assert diagnosis.message == (
        "The loss stalled. Try a lower lr, another seed, optimizer adam, or more hidden units."
    )
    assert (
        phrased(diagnosis)
        == worded(diagnosis, flag)
        == (
            "The loss stalled. Try a lower --lr, another --seed, --optimizer adam, "
            "or more --hidden units."
        )
    )


def test_a_suggested_value_is_shown_with_its_flag():
    hints = (Hint("lr", "lower", 0.125),)
    assert advice(hints, flag) == " Try a lower --lr, e.g. --lr 0.125."
    assert advice((Hint("steps", "more"), Hint("lr", "higher")), flag) == (
        " Try more --steps or a higher --lr."
    )


def test_a_diagnosis_from_an_older_run_folder_keeps_its_words():
    old = {"kind": "unfinished", "message": "Still falling. Try more --steps.", "short": "more?"}
    diagnosis = Diagnosis.from_dict(old)
    assert diagnosis.hints == () and phrased(diagnosis) == old["message"]


def test_hints_round_trip_through_a_table():
    from dataclasses import asdict

    diagnosis = Diagnosis("stalled", "Stalled." + advice(STALLED), "stalled", STALLED)
    assert Diagnosis.from_dict(asdict(diagnosis)) == diagnosis


def errors(train, val=None):
    metrics = {"train": {"rmse": train, "mae": train, "r2": 0.9}}
    if val is not None:
        metrics["val"] = {"rmse": val, "mae": val, "r2": 0.8}
    return metrics


OK = Diagnosis("ok", "Good fit: loss 1e-05.", "good fit")


def test_real_data_is_judged_by_its_held_out_error_in_y_units():
    verdict = in_units(OK, errors(2.0, 2.5), "pressure", cross_validated=True)
    assert verdict.kind == "ok"
    assert "RMSE 2.5 in pressure's units on cross-validated held-out rows" in verdict.message
    assert "R² 0.800" in verdict.message and "2 on the training rows" in verdict.message
    assert "loss" not in verdict.message and verdict.short == "val RMSE 2.5, R² 0.800"


def test_a_large_gap_says_overfitting_or_extrapolation_and_what_to_try():
    verdict = in_units(OK, errors(1.0, GAP * 1.5), "y")
    assert verdict.kind == "gap" and not verdict.ok
    assert f"{GAP * 1.5:.1f}x the training error" in verdict.message
    assert {hint.field for hint in verdict.hints} == {"val", "restore", "hidden"}
    assert "validation rows" in verdict.message and "Try " in verdict.message


def test_a_gap_on_a_held_out_error_that_explains_nearly_all_variance_is_a_good_fit():
    nearly_exact = errors(0.4, 1.9)
    nearly_exact["val"]["r2"] = GAP_R2 + (1 - GAP_R2) / 2  # pressure: 0.4 and 1.9 mm Hg
    verdict = in_units(OK, nearly_exact, "pressure", cross_validated=True)
    assert verdict.kind == "ok" and verdict.message.startswith("Good fit: RMSE 1.9")
    nearly_exact["val"]["r2"] = GAP_R2 - 0.001
    assert in_units(OK, nearly_exact, "pressure").kind == "gap"


def test_without_held_out_rows_the_verdict_says_it_cannot_speak_for_new_data():
    verdict = in_units(OK, errors(3.0), "flow")
    assert "RMSE 3 in flow's units on the training rows" in verdict.message
    assert "nothing says how it predicts new data" in verdict.message


def test_other_verdicts_keep_their_advice_and_gain_the_errors():
    stalled = Diagnosis("stalled", "The loss stalled. Try a lower lr.", "loss stalled")
    verdict = in_units(stalled, errors(1.0, 5.0), "y")
    assert verdict.kind == "stalled" and verdict.message.startswith("The loss stalled.")
    assert "RMSE 5 in y's units" in verdict.message
    diverged = Diagnosis("diverged", "The loss stopped being finite.", "diverged")
    assert in_units(diverged, errors(1.0, 5.0)) == diverged


def test_the_lesson_with_its_noise_floor_keeps_its_loss_verdict():
    x, y = nnfit.make_data(seed=0)
    model = nnfit.Regressor(
        hidden=(10,), activation="relu", members=1, val=0.0, scale=False, optimizer="sgd"
    )
    model.lr, model.steps, model.every, model.schedule = 0.5, 100, 5, "constant"
    model.fit(x, y, noise_floor=0.2**2 / 12)
    assert model.diagnosis_.message.startswith("Good fit: loss")


def test_the_pictures_note_quotes_the_held_out_error_and_tampered_metrics_fall_back():
    import numpy as np

    from nnfit.core.diagnostics import verdict

    x = np.linspace(0, 10, 60)
    model = nnfit.Regressor(hidden=(8,), steps=200, every=20, members=4).fit(x, np.sin(x))
    assert model.diagnosis_ == verdict(model.history_)
    rmse = model.metrics_["val"]["rmse"]
    assert verdict(model.history_).short.startswith(f"val RMSE {rmse:.3g}")
    for forged in ("text", {"train": "x"}, {"train": {"rmse": "1", "mae": 1, "r2": 1}}):
        model.history_.settings["metrics"] = forged
        assert "RMSE" not in verdict(model.history_).message  # the loss verdict instead


def test_hints_are_worded_by_flag_when_sentences_follow_them():
    from nnfit.views.phrasing import phrased

    stalled = in_units(
        Diagnosis("stalled", "The loss stalled. Try a lower lr.", "s", (Hint("lr", "lower"),)),
        errors(1.0, 5.0),
    )
    assert "Try a lower --lr." in phrased(stalled) and "RMSE 5" in phrased(stalled)
    gap = in_units(OK, errors(1.0, 9.0))
    assert "Try --val 0.1, --restore 1se, or fewer --hidden units." in phrased(gap)


def test_a_known_unit_replaces_the_column_name():
    verdict = in_units(OK, errors(2.0, 2.5), "pressure", unit="mm Hg")
    assert "RMSE 2.5 mm Hg on validation rows" in verdict.message
    assert "2 mm Hg on the training rows" in verdict.message and "units" not in verdict.message


def test_dead_units_are_counted_in_the_relu_layers_only():
    from nnfit.core.diagnostics import relu_units

    assert relu_units((4, 3), (4, 5), ("relu", "tanh"), members=2) == (4, 8)
    assert relu_units((4, 3), (4, 5), ("tanh", "relu"), members=2) == (3, 10)
    assert relu_units((4, 3), (4, 5), "relu") == (7, 9)
    assert relu_units((4, 3), (4, 5), "tanh") == (0, 0)


def flat_history(activation, dead):
    """A run whose loss never moved, with ``dead`` units per hidden layer (4 each) at the end."""
    import numpy as np

    from nnfit.core.history import History, Snapshot

    grid = np.zeros((3, 1))
    steps = range(0, 91, 10)
    snapshots = [Snapshot(step, 1.0, grid, dead=dead, final=step == 90) for step in steps]
    return History(
        grid, grid, grid, hidden=(4, 4), activation=activation, snapshots=snapshots, noise_floor=0.1
    )


def test_a_saturated_tanh_layer_is_not_a_dead_relu_layer():
    from nnfit.core.diagnostics import diagnose

    assert diagnose(flat_history(("relu", "tanh"), (4, 1))).kind == "dead_units"
    assert diagnose(flat_history(("tanh", "relu"), (4, 1))).kind == "stalled"  # 1 of 4 ReLUs
    assert "4 of 4 ReLU units died" in diagnose(flat_history(("relu", "tanh"), (4, 1))).message
