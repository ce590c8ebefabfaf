"""The command line's manners: help that says what goes after each flag, and usage errors of one
line, one prefix and a pointer to the command's help."""

import re

import pytest

from nnfit.cli import main
from nnfit.cli.flags import run_flags
from nnfit.cli.parser import command_names
from nnfit.settings import table

COMMANDS = [
    "demo",
    "fit",
    "predict",
    "show",
    "export",
    "sweep",
    "race",
    "doctor",
    "serve",
    "examples",
]


def help_of(capsys, monkeypatch, *command, columns=80):
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main([*command, "--help"]) == 0
    return capsys.readouterr().out


def usage_error(capsys, *argv):
    """The one stderr line of a usage error (exit status 2, nothing on stdout)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_the_commands_are_the_ones_tested_here():
    from nnfit.cli.main import make_parser

    assert command_names(make_parser()) == COMMANDS


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_help_has_no_percent_escapes_and_fits_the_terminal(capsys, monkeypatch, command):
    text = help_of(capsys, monkeypatch, *command, columns=80)
    assert "%%" not in text
    prose = text.partition("examples:")[0]  # example lines are kept as written
    assert max(len(line) for line in prose.splitlines()) <= 80


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_description_is_wrapped_to_the_width(capsys, monkeypatch, command):
    wide = help_of(capsys, monkeypatch, *command, columns=200).partition("examples:")
    narrow = help_of(capsys, monkeypatch, *command, columns=60).partition("examples:")
    assert max(len(line) for line in narrow[0].splitlines()) <= 60
    assert narrow[2] == wide[2]  # examples line for line, whatever the width
    # the description (after the usage): the same words, in more lines when narrow
    described = [text[0].split("\n\n")[1] for text in (wide, narrow)]
    assert described[0].split() == described[1].split()
    assert described[1].count("\n") > described[0].count("\n")


@pytest.mark.parametrize("command", ["demo", "fit"])
def test_every_value_flag_names_its_value_from_the_table(capsys, monkeypatch, command):
    text = help_of(capsys, monkeypatch, command, columns=200)
    for row in table():
        if row.flag is None:
            continue
        keywords = dict(next(kw for g in run_flags().values() for n, kw in g if n[0] == row.flag))
        if "action" in keywords:  # --scale/--no-scale and --drop-missing take no value
            continue
        metavar = keywords["metavar"]
        assert f"{row.flag} {metavar}" in text, row.flag
        # a metavar says what goes there, not the flag's own name shouted
        assert metavar != row.name.upper(), row.flag


@pytest.mark.parametrize(
    "flag, metavar",
    [
        ("--hidden", "WIDTHS"),
        ("--lr", "RATE"),
        ("--steps", "N"),
        ("--members", "N|auto"),
        ("--member-lr", "RATES"),
        ("--domain", "LO,HI"),
        ("--x", "COLUMNS"),
        ("--activation", "NAMES"),
    ],
)
def test_metavars_say_what_goes_there(capsys, monkeypatch, flag, metavar):
    assert f"[{flag} {metavar}]" in help_of(capsys, monkeypatch, "fit", columns=200)


@pytest.mark.parametrize("command", ["predict", "show", "export"])
def test_run_folder_commands_take_a_run_and_show_examples(capsys, monkeypatch, command):
    text = help_of(capsys, monkeypatch, command, columns=120)
    assert re.search(r"^usage: nnfit \S+ .* RUN\b", text, re.S | re.M)
    examples = text.split("examples:\n", 1)[1].splitlines()
    assert len(examples) >= 2
    assert all(
        line.lstrip().startswith(f"nnfit {command} ") or "| nnfit" in line for line in examples
    )


def test_predict_names_its_data_argument(capsys, monkeypatch):
    assert "RUN [DATA]" in help_of(capsys, monkeypatch, "predict", columns=200)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["fit", "--hiden", "3"],
            "unknown flag --hiden; did you mean --hidden? (see nnfit fit --help)",
        ),
        (
            ["demo", "--stpes", "3"],
            "unknown flag --stpes; did you mean --steps? (see nnfit demo --help)",
        ),
        (
            ["export", "r", "--onx", "f"],
            "unknown flag --onx; did you mean --onnx? (see nnfit export --help)",
        ),
        (["fit", "--zzzzzz"], "unknown flag --zzzzzz (see nnfit fit --help)"),
        (["predict", "r", "d", "extra"], "unexpected argument 'extra' (see nnfit predict --help)"),
        (["predict"], "the following arguments are required: RUN (see nnfit predict --help)"),
        (["fitt"], "unknown command 'fitt'; did you mean fit? (see nnfit --help)"),
        (["--bogus"], "unknown flag --bogus (see nnfit --help)"),
    ],
)
def test_usage_errors_are_one_line_pointing_to_the_commands_help(capsys, argv, expected):
    assert usage_error(capsys, *argv) == f"nnfit: error: {expected}"


@pytest.mark.parametrize(
    "argv, shown",
    [
        (["--hidden", "0"], "got 0"),
        (["--hidden", "4,0"], "got 4,0"),
        (["--lr", "-1"], "got -1"),
        (["--domain", "1,1"], "got 1,1"),
    ],
)
def test_bad_values_are_shown_as_typed(capsys, tmp_path, monkeypatch, argv, shown):
    monkeypatch.chdir(tmp_path)
    line = usage_error(capsys, "demo", "--no-window", "-q", *argv)
    assert line.startswith(f"nnfit: error: {argv[0]} ") and line.endswith(shown)
    assert "(" not in line.rpartition("got")[2]


def test_every_error_has_the_one_prefix(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = [
        usage_error(capsys, "fit", "--hidden", "x"),  # argparse's type check
        usage_error(capsys, "demo", "--no-window", "--lr", "0"),  # the config's check
        usage_error(capsys, "predict", str(tmp_path / "missing"), "--x", "1"),  # the library's
    ]
    assert all(line.startswith("nnfit: error: ") for line in lines), lines
