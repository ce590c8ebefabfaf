"""The settings table: every setting reaches every place generated from it, so none is forgotten."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import pytest

from nnfit.checks import check_fields, setting
from nnfit.cli.flags import negative_ok, overrides_from, run_flags
from nnfit.cli.main import main, make_parser
from nnfit.errors import UsageError
from nnfit.regressor import Regressor, Settings
from nnfit.runs.config import DATA_PRESET, PRESETS, SECTIONS, build_config, config_toml
from nnfit.settings import (
    ALIASES,
    REAL_DATA_DEFAULTS,
    estimator_defaults,
    estimator_parameters,
    estimator_settings,
    table,
)


def test_every_setting_has_help_a_group_and_a_default_its_config_accepts():
    for row in table():
        assert row.help.strip() and "{" not in row.help, row.name
        assert row.group in run_flags() or row.flag is None, row.name
    for cls in SECTIONS.values():
        cls()  # each default passes its own checks


def test_every_setting_has_a_flag_and_the_flag_reaches_its_field():
    parser = make_parser()
    demo = parser.parse_args(["demo"])
    overrides = overrides_from(demo)
    flags = {names[0] for group in run_flags().values() for names, _ in group}
    for row in table():
        if row.flag is None:  # the data file: fit's SOURCE argument
            assert row.name == "file"
            continue
        assert row.flag in flags, row.name
        assert row.name in overrides[row.section], row.name
        assert overrides[row.section][row.name] is None  # not given: the preset decides


def test_every_setting_is_a_toml_key_that_round_trips():
    config = build_config(DATA_PRESET)
    text = config_toml(config, preset=DATA_PRESET)
    keys = {row.name for row in table() if getattr(getattr(config, row.section), row.name)}
    for key in keys:
        assert f"{key} = " in text, key


def test_estimator_parameters_are_the_tables_with_the_real_data_defaults():
    signature = inspect.signature(Settings.__init__)
    params = {n: p.default for n, p in signature.parameters.items() if n != "self"}
    assert params == estimator_parameters()
    settings = [row.name for row in estimator_settings()]
    assert list(params) == settings + list(ALIASES)  # the table's settings, then their aliases
    assert {name: params[name] for name in settings} == estimator_defaults()
    for name in params:
        assert f"        {name}: " in Regressor.__doc__, name
    assert "{settings}" not in Regressor.__doc__


def test_aliases_name_settings_and_default_to_not_given():
    names = {row.name for row in estimator_settings()}
    for alias, name in ALIASES.items():
        assert name in names and alias not in names
        assert estimator_parameters()[alias] is None


def test_real_data_defaults_are_settings_and_the_data_preset():
    names = {row.name for row in table()}
    assert set(REAL_DATA_DEFAULTS) <= names
    preset = {k: v for section in PRESETS[DATA_PRESET].values() for k, v in section.items()}
    assert preset == REAL_DATA_DEFAULTS


def test_flag_help_shows_the_presets_defaults():
    help_ = {names[0]: kw["help"] for group in run_flags().values() for names, kw in group}
    assert help_["--lr"].endswith("(demo: 0.5, fit: 0.02)")
    assert help_["--hidden"].endswith("(demo: 10, fit: 32,32)")
    assert help_["--points"].endswith("(default: 100)")


def test_a_new_setting_is_checked_from_its_declaration():
    @dataclass(frozen=True)
    class Config:
        lr: float = setting(0.5, "learning rate", above=0, group="training")
        n: int = setting(3, "count", low=1, high=5, group="training")
        kind: str = setting("a", "{choices}", choices=("a", "b"), group="training")

        def __post_init__(self) -> None:
            check_fields(self)

    Config()
    for values, message in (
        ({"lr": 0}, "lr must be a finite number above 0, got 0"),
        ({"lr": float("nan")}, "lr must be a finite number above 0"),
        ({"n": 6}, "n must be a whole number from 1 to 5, got 6"),
        ({"kind": "c"}, "kind must be one of a, b, got 'c'"),
        ({"n": "2"}, "n must be a whole number, got '2'"),
    ):
        with pytest.raises(UsageError) as error:
            Config(**values)
        assert str(error.value) == message or str(error.value).startswith(message)


def test_the_core_names_the_field_and_the_command_line_the_flag(capsys):
    with pytest.raises(UsageError, match=r"^lr must be a finite number above 0, got 0$"):
        Regressor(lr=0).fit([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert main(["demo", "--no-window", "--batch-size", "0"]) == 2
    err = capsys.readouterr().err
    assert err == "nnfit: error: --batch-size must be a whole number of at least 1, got 0\n"


def test_flags_that_take_negative_values_come_from_the_table():
    numbers = {"--lr", "--momentum", "--rmsprop-alpha", "--beta1", "--beta2", "--noise-level"}
    numbers.add("--target-r2")
    assert negative_ok() == {"--domain", *numbers, "--val", "--x", "--y"}
