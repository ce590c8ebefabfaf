"""The sweep's search space: lists, ranges and TOML tables read through the settings table."""

import pytest

from nnfit.checks import FieldError
from nnfit.errors import UsageError
from nnfit.sweep.space import (
    UNSWEEPABLE,
    dimension,
    from_table,
    from_texts,
    sweepable,
)


def values(name, text):
    return dimension(name, text).values


def test_a_list_gives_each_value_parsed_as_its_flag_parses_it():
    assert values("lr", "0.01,0.1") == (0.01, 0.1)
    assert values("activation", "relu,tanh") == ("relu", "tanh")
    assert values("steps", "100, 200") == (100, 200)
    assert values("scale", "on,off") == (True, False)


def test_hidden_items_join_their_layers_with_a_dash():
    assert values("hidden", "16,32-32,64-64-64") == ((16,), (32, 32), (64, 64, 64))


def test_a_log_range_spans_its_ends_evenly_in_log():
    lr = values("lr", "log:0.001..0.1:3")
    assert lr == pytest.approx((0.001, 0.01, 0.1))
    assert len(values("lr", "log:0.001..0.3:8")) == 8


def test_linear_factor_and_step_ranges():
    assert values("lr", "0.1..0.5:5") == pytest.approx((0.1, 0.2, 0.3, 0.4, 0.5))
    assert values("hidden", "16..128:x2") == ((16,), (32,), (64,), (128,))
    assert values("steps", "100..1000:+300") == (100, 400, 700, 1000)
    assert values("steps", "100..200:+300") == (100,)


def test_whole_number_ranges_round_and_drop_repeats():
    assert values("steps", "10..12:5") == (10, 11, 12)


def test_a_list_mixes_values_and_ranges():
    assert values("lr", "0.001,0.01..0.1:2") == (0.001, 0.01, 0.1)


def test_none_unsets_a_setting_that_may_be_unset():
    assert values("patience", "200,none") == (200, None)
    with pytest.raises(UsageError, match="--steps cannot be none"):
        dimension("steps", "none")


@pytest.mark.parametrize("name", ["device", "threads", "seed", "members", "val", "x", "every"])
def test_an_unsweepable_setting_is_refused_naming_those_that_can_be_swept(name):
    with pytest.raises(UsageError, match="cannot be swept; settings that can be swept: --hidden"):
        dimension(name, "1")


def test_an_unknown_setting_is_refused_naming_those_that_can_be_swept():
    with pytest.raises(UsageError, match="--bogus is not a setting; settings that can be swept"):
        dimension("bogus", "1")


def test_the_sweepable_settings_come_from_the_table():
    names = {row.name for row in sweepable()}
    assert {"hidden", "activation", "lr", "optimizer", "steps", "patience"} <= names
    assert not names & set(UNSWEEPABLE)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("lr", "-1", "--lr must be a finite number above 0, got -1"),
        ("activation", "relux", "--activation must be one of relu"),
        ("hidden", "0", "--hidden widths must be between 1"),
    ],
)
def test_values_are_checked_by_the_settings_own_checks(name, text, message):
    with pytest.raises(FieldError) as error:
        dimension(name, text)
    assert message in error.value.flagged()


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("lr", "abc", "--lr: expected a number"),
        ("lr", "0.1..0.01:3", "LO must be below HI"),
        ("lr", "log:0..1:3", "needs LO above 0"),
        ("lr", "1..2", "a range is LO..HI:N"),
        ("lr", "0.1..1:x1", "factor F of LO..HI:xF must be above 1"),
        ("lr", "0.1..1:+0", "step S of LO..HI:+S must be above 0"),
        ("steps", "1..2:2.5", "count N must be a whole number"),
        ("lr", "1e-9..1:+1e-9", "more than 10,000 values"),
        ("lr", "log:0.1..0.001:x", "--lr log:0.1..0.001:x: expected a number, got ''; a range is"),
        ("lr", "0.1..:3", "--lr 0.1..:3: expected a number, got ''; a range is LO..HI:N"),
        ("optimizer", "a..b:3", "ranges are for numbers"),
        ("hidden", "16,32x32", "expected widths like 10 or 32-32"),
        ("lr", "0.1,,0.2", "empty item"),
        ("lr", " ", "needs values to try"),
    ],
)
def test_bad_text_gets_one_line_naming_the_flag(name, text, message):
    with pytest.raises(UsageError, match=message.replace("+", r"\+")) as error:
        dimension(name, text)
    assert "\n" not in str(error.value)


def test_the_space_is_every_combination_of_its_values():
    space = from_texts({"lr": "0.01,0.1", "hidden": "8,16-16,32"}, seeds=3)
    settings = list(space.settings())
    assert len(space) == len(settings) == 6
    assert space.seeds == 3
    assert {(s["lr"], s["hidden"]) for s in settings} == {
        (lr, h) for lr in (0.01, 0.1) for h in ((8,), (16, 16), (32,))
    }


def test_a_toml_table_holds_the_same_values():
    table = {"lr": [0.01, "0.1..0.2:2"], "hidden": [16, [32, 32]], "activation": "relu,tanh"}
    space = from_table({**table, "seeds": 4})
    assert space.seeds == 4
    assert dict((d.name, d.values) for d in space.dimensions) == {
        "lr": (0.01, 0.1, 0.2),
        "hidden": ((16,), (32, 32)),
        "activation": ("relu", "tanh"),
    }


def test_a_toml_table_is_checked_like_flags_and_named_in_errors():
    with pytest.raises(UsageError, match=r"^s.toml: \[sweep\] --device cannot be swept"):
        from_table({"device": ["cpu"]}, source="s.toml")
    with pytest.raises(UsageError, match=r"^s.toml: \[sweep\] lr \(--lr\) must be a finite"):
        from_table({"lr": [0.1, -1]}, source="s.toml")
    with pytest.raises(UsageError, match="--seeds must be a whole number"):
        from_table({"lr": [0.1], "seeds": 0})


def test_too_many_settings_are_refused_before_anything_runs():
    with pytest.raises(UsageError, match="settings to try; at most"):
        from_texts({"lr": "0.001..1:1000", "steps": "1..1000:1000"})


def test_activation_items_join_one_name_per_layer_with_a_dash():
    assert values("activation", "tanh,relu-tanh") == ("tanh", ("relu", "tanh"))
    table = from_table({"activation": ["tanh", ["relu", "tanh"]], "hidden": "8-8"})
    assert table.dimensions[0].values == ("tanh", ("relu", "tanh"))
    with pytest.raises(FieldError, match="'swish2', which is not one of"):
        values("activation", "relu-swish2")


def test_a_list_of_activations_meets_the_hidden_layers_when_the_sweep_is_planned():
    from nnfit.runs.config import build_config
    from nnfit.sweep.plan import plan

    base = build_config("data")
    configs, _ = plan(base, from_texts({"hidden": "8-8", "activation": "tanh,relu-tanh"}))
    assert [c.model.activations for c in configs] == [("tanh", "tanh"), ("relu", "tanh")]
    with pytest.raises(FieldError, match="gives 2 names for 1 hidden layer"):
        plan(base, from_texts({"hidden": "8,8-8", "activation": "relu-tanh"}))


def test_race_variants_name_one_activation_per_layer_as_typed():
    from nnfit.race.lanes import variant_names

    space = from_texts({"activation": "tanh,relu-tanh"}, seeds=1)
    assert variant_names(space) == ["tanh", "relu-tanh"]
