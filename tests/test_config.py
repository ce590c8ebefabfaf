import pytest

import nnfit
from nnfit.runs.config import build_config, config_toml, read_config


def test_default_is_the_2017_lesson():
    config = build_config()
    assert (config.train.lr, config.train.steps, config.train.optimizer) == (0.5, 100, "sgd")
    assert config.model.hidden == (10,) and config.model.activation == "relu"
    assert config.data.points == 100 and config.data.noise_level == 0.2


def test_2018_preset_and_overrides_win():
    config = build_config("morvan-2018")
    assert (config.train.lr, config.train.steps) == (0.2, 200)
    config = build_config("morvan-2018", train={"lr": 0.1})
    assert (config.train.lr, config.train.steps) == (0.1, 200)


def test_toml_round_trip(tmp_path):
    config = build_config(
        "morvan-2018",
        model={"hidden": (32, 32), "activation": "tanh"},
        data={"function": "sin(3*x)", "domain": (-2.0, 2.0)},
    )
    path = tmp_path / "run.toml"
    path.write_text(config_toml(config, preset="morvan-2018"))
    tables = read_config(path)
    preset = tables.pop("__preset__")
    assert build_config(preset, base=tables, source=str(path)) == config


def test_unknown_preset_lists_choices():
    with pytest.raises(nnfit.UsageError, match="morvan-2017, morvan-2018"):
        build_config("morvan-2019")


@pytest.mark.parametrize(
    "text, match",
    [
        ("[train]\nlrr = 0.1\n", "did you mean 'lr'"),
        ("[trian]\nlr = 0.1\n", "did you mean 'train'"),
        ("[train]\nlr = -1\n", "--lr"),
        ("[train]\nsteps = 'many'\n", "steps"),
        ("train = 3\n", "must be a table"),
        ("[train\n", "not valid TOML"),
    ],
)
def test_bad_config_files_get_one_line_errors(tmp_path, text, match):
    path = tmp_path / "run.toml"
    path.write_text(text)
    with pytest.raises(nnfit.UsageError, match=match) as error:
        build_config(base=read_config(path), source=str(path))
    assert "\n" not in str(error.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(nnfit.UsageError, match="no such file"):
        read_config(tmp_path / "nope.toml")
    with pytest.raises(nnfit.UsageError, match="folder"):
        read_config(tmp_path)
