import json
import os
import subprocess
import sys

import pytest
from PIL import Image

import nnfit
from nnfit.cli import main

FAST = ["--no-window", "-q"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_is_instant_and_imports_no_torch_or_matplotlib():
    code = (
        "import sys, contextlib, io\n"
        "from nnfit.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "print(sorted(m for m in ('torch', 'matplotlib', 'numpy') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_version_and_python_dash_m():
    result = subprocess.run(
        [sys.executable, "-m", "nnfit", "--version"], capture_output=True, text=True, check=True
    )
    from nnfit import __version__

    assert result.stdout.strip() == f"nnfit {__version__}"


@pytest.mark.parametrize("command", [["--help"], ["demo", "--help"], ["fit", "--help"]])
def test_help_texts(capsys, command):
    assert main(command) == 0
    assert "nnfit" in capsys.readouterr().out


def test_demo_saves_everything_and_fit_repeats_it(tmp_path, capsys):
    gif, png, log, toml = (tmp_path / n for n in ("a.gif", "a.png", "a.jsonl", "run.toml"))
    code, out, _ = run(
        capsys,
        "demo",
        *FAST,
        "--save",
        str(gif),
        "--plot",
        str(png),
        "--log",
        str(log),
        "--save-config",
        str(toml),
    )
    assert code == 0
    final_line = next(line for line in out.splitlines() if line.startswith("final loss"))
    with Image.open(gif) as image:
        assert image.n_frames == 21
    assert Image.open(png).size[0] > 100
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["step"] for r in records] == [*range(0, 100, 5), 100]
    code, out, _ = run(capsys, "fit", str(toml), *FAST)
    assert code == 0
    assert final_line in out.splitlines()


def test_seed_changes_the_result_and_same_seed_repeats(capsys):
    def final(*flags):
        code, out, _ = run(capsys, "demo", *FAST, "--steps", "20", "--every", "10", *flags)
        assert code == 0
        return next(line for line in out.splitlines() if line.startswith("final loss"))

    assert final("--seed", "3") == final("--seed", "3")
    assert final("--seed", "3") != final("--seed", "4")


def test_demo_prints_the_network_like_pytorch(capsys):
    code, out, _ = run(capsys, "demo", "--no-window", "--steps", "5")
    assert code == 0
    assert "Linear(in_features=1, out_features=10, bias=True)" in out


def test_every_setting_has_a_flag(tmp_path, capsys):
    toml = tmp_path / "run.toml"
    code, _, _ = run(
        capsys,
        "demo",
        *FAST,
        "--function",
        "sin(3*x)",
        "--points",
        "40",
        "--noise",
        "gaussian:0.1",
        "--domain",
        "-2,2",
        "--hidden",
        "16,8",
        "--activation",
        "tanh",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--steps",
        "30",
        "--loss",
        "huber",
        "--batch-size",
        "10",
        "--every",
        "3",
        "--seed",
        "2",
        "--device",
        "cpu",
        "--save-config",
        str(toml),
    )
    assert code == 0
    text = toml.read_text()
    for fragment in (
        'function = "sin(3*x)"',
        "points = 40",
        'noise = "gaussian"',
        "noise_level = 0.1",
        "hidden = [\n    16,\n    8,\n]",
        'loss = "huber"',
        "batch_size = 10",
        "every = 3",
        "seed = 2",
        'optimizer = "adam"',
    ):
        assert fragment in text


def test_no_display_saves_to_the_current_folder_without_overwriting(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISPLAY", raising=False)
    for _ in range(2):
        code, _, err = run(capsys, "demo", "--steps", "10")
        assert code == 0
        assert "no display" in err
    names = sorted(os.listdir(tmp_path))
    assert names == ["nnfit-demo-1.gif", "nnfit-demo-1.png", "nnfit-demo.gif", "nnfit-demo.png"]


@pytest.mark.parametrize(
    ("source", "stem"),
    [
        (["--example", "pressure"], "pressure-fit"),
        (["my data.v2.csv"], "my_data-fit"),
    ],
)
def test_a_headless_fit_names_its_files_after_the_data(tmp_path, capsys, monkeypatch, source, stem):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISPLAY", raising=False)
    (tmp_path / "my data.v2.csv").write_text("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(30)))
    code, _, err = run(capsys, "fit", *source, "--steps", "20", "--every", "10")
    assert code == 0 and f"{stem}.gif" in err
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".csv") == [
        f"{stem}.gif",
        f"{stem}.png",
    ]


BAD = [
    (["--lr", "abc"], "--lr"),
    (["--lr", "0"], "--lr"),
    (["--lr", "-1"], "--lr"),
    (["--steps", "0"], "--steps"),
    (["--steps", "1.5"], "--steps"),
    (["--points", "1"], "--points"),
    (["--hidden", "0"], "--hidden"),
    (["--hidden", "a,b"], "--hidden"),
    (["--activation", "swish2"], "--activation"),
    (
        ["--hidden", "10,10", "--activation", "relu,tanh,relu"],
        "--activation gives 3 names for 2 hidden layers: give one per layer, or one for all, "
        "got relu,tanh,relu",
    ),
    (["--hidden", "10", "--activation", "relu,swish2"], "--activation names 'swish2'"),
    (["--activation", "relu;tanh"], "--activation"),
    (["--optimizer", "sgdd"], "--optimizer"),
    (["--loss", "mae"], "--loss"),
    (["--noise", "pink"], "--noise"),
    (["--noise", "gaussian:x"], "number"),
    (["--noise-level", "-1"], "--noise-level"),
    (["--domain", "1"], "--domain"),
    (["--domain", "1,-1"], "--domain"),
    (["--batch-size", "0"], "--batch-size"),
    (["--every", "0"], "--every"),
    (["--seed", "-1"], "--seed"),
    (["--device", "tpu"], "--device"),
    (["--preset", "morvan-2016"], "--preset"),
    (["--fps", "0"], "--fps"),
    (["--size", "10"], "--size"),
    (["--save", "out.avi"], "--save"),
    (["--plot", "out.jpg"], "--plot"),
    (["--save-config", "run.yaml"], "--save-config"),
    (["--function", "__import__('os')"], "__import__"),
    (["--function", "log(x)"], "finite"),
    (["--save", "missing/out.gif"], "does not exist"),
    (["--save", "same.gif", "--plot", "same.gif"], "--plot"),
    (["--bogus"], "unknown flag --bogus (see nnfit demo --help)"),
]


@pytest.mark.parametrize("flags, match", BAD, ids=[" ".join(f) for f, _ in BAD])
def test_bad_flags_exit_2_with_one_line_and_no_files(tmp_path, capsys, monkeypatch, flags, match):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "demo", "--no-window", *flags)
    assert code == 2
    assert match in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_existing_output_is_kept_unless_overwrite(tmp_path, capsys):
    gif = tmp_path / "fit.gif"
    gif.write_bytes(b"precious")
    code, _, err = run(capsys, "demo", *FAST, "--steps", "5", "--save", str(gif))
    assert code == 2 and "already exists" in err and "--overwrite" in err
    assert gif.read_bytes() == b"precious"
    code, _, err = run(capsys, "demo", *FAST, "--steps", "5", "--save", str(gif), "--overwrite")
    assert code == 2 and "not written by nnfit" in err  # --overwrite replaces only nnfit's own
    assert gif.read_bytes() == b"precious"
    gif.unlink()
    for seed in ("1", "2"):  # the second run replaces the first one's animation
        code, _, _ = run(capsys, "demo", *FAST, "--steps", "5", "--save", str(gif), "--overwrite",
                         "--seed", seed)  # fmt: skip
        assert code == 0 and gif.read_bytes()[:3] == b"GIF"


def test_cuda_absent_is_exit_2(capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run(capsys, "demo", "--no-window", "--device", "cuda")
    assert code == 2 and "no CUDA" in err


def test_fit_with_a_bad_file(tmp_path, capsys):
    code, _, err = run(capsys, "fit", str(tmp_path / "none.toml"))
    assert code == 2 and "no such file" in err


def test_dead_seed_is_explained(capsys):
    code, out, _ = run(capsys, "demo", *FAST, "--seed", "8")
    assert code == 0
    assert "units died" in out and "--preset morvan-2018" in out


def test_quiet_prints_only_the_result(capsys):
    code, out, err = run(capsys, "demo", *FAST, "--steps", "10")
    assert code == 0 and err == ""
    assert out.splitlines()[0].startswith("final loss")


def test_one_activation_per_layer_from_flags_to_folder_settings_file_and_show(tmp_path, capsys):
    toml, folder = tmp_path / "run.toml", tmp_path / "run"
    flags = ["--hidden", "8,6", "--activation", "relu,tanh", "--steps", "5", "--out", str(folder)]
    code, _, err = run(capsys, "demo", *FAST, *flags, "--save-config", str(toml))
    assert code == 0, err
    assert 'activation = [\n    "relu",\n    "tanh",\n]' in toml.read_text()
    code, out, _ = run(capsys, "show", str(folder), "--no-window")
    assert code == 0 and "1 → 8, 6 (relu, tanh) → 1" in out
    again = tmp_path / "again"
    code, _, err = run(capsys, "fit", str(toml), *FAST, "--steps", "2", "--out", str(again))
    assert code == 0, err
    assert nnfit.load(again).model_.activations == ("relu", "tanh")
