"""Outputs against a hostile user or bad luck: nnfit never deletes, follows or loses what it
should not (README, "Promises"). Each test plays one case of a class: overwriting what nnfit
did not write, links and special files, two writers at once, a reader that leaves, signals at
the worst moment, names and folders that fail only after training."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
import time

import pytest

import nnfit
from nnfit.cli import main
from nnfit.io.files import AtomicFile, OutputTaken
from nnfit.io.temps import clean_stale

FAST = ["--no-window", "-q", "--steps", "10", "--every", "5"]


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def refused(code, err, *words):
    """Exit 2 with one line on stderr that says each of ``words``."""
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


def cli(*args, cwd, driver="", **options):
    """Run nnfit in a subprocess (optionally under a test driver that sets files.hook)."""
    command = [sys.executable, "-c", DRIVER, driver, *args] if driver else [
        sys.executable, "-m", "nnfit", *args
    ]  # fmt: skip
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env=env, timeout=120, **options
    )


# Sets nnfit.io.files.hook, which nnfit calls with "publish" just before an output takes its name.
DRIVER = """
import os, signal, sys, time
from pathlib import Path
from nnfit.io import files
from nnfit.cli import main
mode = sys.argv[1]
def hook(moment):
    if mode == "sigterm":  # a signal at the worst moment: as the first output is published
        files.hook = None
        os.kill(os.getpid(), signal.SIGTERM)
    elif mode.startswith("barrier:"):  # wait until the other process is here too
        folder = Path(mode.partition(":")[2])
        (folder / f"at-{os.getpid()}").touch()
        deadline = time.time() + 60
        while len(list(folder.glob("at-*"))) < 2 and time.time() < deadline:
            time.sleep(0.01)
        files.hook = None
files.hook = hook
sys.exit(main(sys.argv[2:]))
"""


@pytest.fixture
def demo_run(tmp_path_factory):
    """A finished run folder written by nnfit."""
    folder = tmp_path_factory.mktemp("made") / "run"
    assert main(["demo", *FAST, "--out", str(folder)]) == 0
    return folder


# --- never delete or lose what nnfit did not write -----------------------------------------


def test_overwrite_never_replaces_a_folder_nnfit_did_not_write(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    (data / "d.csv").write_text("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(20)))
    code, _, err = run(capsys, "fit", "data/d.csv", *FAST, "--out", "data", "--overwrite")
    refused(code, err, "'d.csv'", "nnfit did not write")
    assert (data / "d.csv").is_file()
    for folder in (".", "..", str(tmp_path)):
        code, _, err = run(capsys, "fit", "data/d.csv", *FAST, "--out", folder, "--overwrite")
        refused(code, err, "current folder")
    assert sorted(os.listdir(tmp_path)) == ["data"] and os.listdir(data) == ["d.csv"]


def test_overwrite_keeps_a_run_folder_that_holds_a_users_file(tmp_path, capsys, demo_run):
    (demo_run / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "demo", *FAST, "--out", str(demo_run), "--overwrite")
    refused(code, err, "'notes.txt'", "nnfit did not write")
    assert (demo_run / "notes.txt").read_text() == "mine"
    (demo_run / "notes.txt").unlink()
    before = (demo_run / "run.json").stat().st_ino
    assert run(capsys, "demo", *FAST, "--out", str(demo_run), "--overwrite", "--seed", "3")[0] == 0
    assert (demo_run / "run.json").stat().st_ino != before
    assert nnfit.load(demo_run).run_info_["settings"]["train"]["seed"] == 3


@pytest.mark.parametrize(
    ("flag", "name", "content"),
    [
        ("--plot", "photo.png", b"\x89PNG\r\n\x1a\n a photo"),
        ("--save", "film.gif", b"GIF89a a film"),
        ("--log", "notes.jsonl", b'{"mine": 1}\n'),
        ("--save-config", "pyproject.toml", b"[project]\nname = 'x'\n"),
    ],
)
def test_overwrite_never_replaces_a_file_nnfit_did_not_write(tmp_path, capsys, flag, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    code, _, err = run(capsys, "demo", *FAST, flag, str(path), "--overwrite")
    refused(code, err, "not written by nnfit")
    assert path.read_bytes() == content
    path.unlink()
    for seed in ("1", "2"):  # what nnfit wrote, it may replace
        assert run(capsys, "demo", *FAST, flag, str(path), "--overwrite", "--seed", seed)[0] == 0
    assert path.read_bytes() != content


@pytest.mark.parametrize(("write", "name"), [("plot", "fit.png"), ("animate", "fit.gif")])
def test_the_library_replaces_only_its_own_files_too(lesson_history, tmp_path, write, name):
    write = getattr(nnfit, write)
    path = tmp_path / name
    path.write_bytes(b"mine")
    with pytest.raises(nnfit.UsageError, match="not written by nnfit"):
        write(lesson_history, path, overwrite=True)
    assert path.read_bytes() == b"mine"
    path.unlink()
    write(lesson_history, path)
    first = path.stat().st_ino
    write(lesson_history, path, overwrite=True)  # nnfit's own file: replaced by a new one
    assert path.stat().st_ino != first and path.read_bytes() != b"mine"


def test_predict_and_export_replace_only_their_own_files(tmp_path, capsys, demo_run):
    data = tmp_path / "new.csv"
    data.write_text("x\n0.5\n")
    code, _, err = run(
        capsys, "predict", str(demo_run), str(data), "--out", str(data), "--overwrite"
    )
    refused(code, err, "not written by nnfit")
    assert data.read_text() == "x\n0.5\n"
    pred = tmp_path / "pred.csv"
    for _ in range(2):
        assert (
            run(capsys, "predict", str(demo_run), "--x", "1", "--out", str(pred), "--overwrite")[0]
            == 0
        )
    module = tmp_path / "mine.py"
    module.write_text("print('mine')\n")
    code, _, err = run(capsys, "export", str(demo_run), "--python", str(module), "--overwrite")
    refused(code, err, "not written by nnfit")
    assert module.read_text() == "print('mine')\n"


def test_outputs_inside_the_replaced_run_folder_are_refused(tmp_path, capsys, demo_run):
    code, _, err = run(
        capsys, "demo", *FAST, "--out", str(demo_run), "--overwrite", "--log",
        str(demo_run / "t.jsonl"),
    )  # fmt: skip
    refused(code, err, "--log", "inside --out")
    clash = str(tmp_path / "r.png")
    code, _, err = run(capsys, "demo", *FAST, "--out", clash, "--plot", clash)
    refused(code, err, "inside --out")
    code, _, err = run(capsys, "demo", *FAST, "--plot", clash, "--log", clash)
    refused(code, err, "same file")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_files_of_a_run_folder_are_never_replaced_one_by_one(tmp_path, capsys, demo_run):
    gif = demo_run / "fit.gif"
    code, _, err = run(capsys, "show", str(demo_run), "--animate", str(gif), "--overwrite")
    refused(code, err, "run folder")
    code, _, err = run(capsys, "demo", *FAST, "--plot", str(demo_run / "fit.png"), "--overwrite")
    refused(code, err, "run folder")
    assert nnfit.load(demo_run).predict([0.0]).shape == (1,)  # every hash still matches


def test_two_writers_of_one_run_folder_one_wins_nothing_is_lost(tmp_path):
    (tmp_path / "meet").mkdir()
    args = ["demo", *FAST, "--out", "runs/same"]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", DRIVER, f"barrier:{tmp_path / 'meet'}", *args, "--seed", seed],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"},
        )
        for seed in ("1", "2")
    ]  # fmt: skip
    results = [(p.wait(timeout=120), p.stderr.read()) for p in processes]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    err = next(err for code, err in results if code == 2)
    assert "created by another process" in err and "runs/same-1" in err and "Traceback" not in err
    seeds = {nnfit.load(tmp_path / "runs" / n).run_info_["seed"] for n in ("same", "same-1")}
    assert seeds == {1, 2}  # both runs kept, each whole
    assert not [p for p in (tmp_path / "runs").iterdir() if p.name.startswith(".")]


def test_exclusive_create_loses_to_a_file_that_appears_meanwhile(tmp_path):
    target = tmp_path / "fit.png"
    writer = AtomicFile(target)
    with pytest.raises(OutputTaken, match="another process"), writer as temp:
        temp.write_bytes(b"new")
        target.write_bytes(b"theirs")
    assert target.read_bytes() == b"theirs" and os.listdir(tmp_path) == ["fit.png"]
    keeper = AtomicFile(target, keep=True)
    with keeper as temp:
        temp.write_bytes(b"new")
    assert keeper.path.name == "fit-1.png" and keeper.path.read_bytes() == b"new"


def test_cleanup_touches_only_dead_writers_temporaries_never_by_a_users_name(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "keep").mkdir()
    (runs / "keep" / "run.json").write_text("{}")
    alive = runs / ".nnfit-1-0000000a.tmp"  # another process still writing: its lock is held
    alive.write_bytes(b"in progress")
    dead = runs / ".nnfit-2-0000000b.tmp"  # its writer died: nobody holds the lock
    dead.write_bytes(b"left over")
    users = runs / ".nnfit-3-0000000c.tmp"  # a folder of that name holding a user's file
    users.mkdir()
    (users / "precious.txt").write_text("mine")
    old = time.time() - 3600
    for path in (alive, dead, users):
        os.utime(path, (old, old))
    fd = os.open(alive, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        # a child process, since flock locks are per open file, not per process
        code = "import sys; from nnfit.io.temps import clean_stale; clean_stale(sys.argv[1])"
        subprocess.run([sys.executable, "-c", code, str(runs)], check=True, timeout=60)
    finally:
        os.close(fd)
    assert alive.read_bytes() == b"in progress" and not dead.exists()
    assert (users / "precious.txt").read_text() == "mine"
    assert (runs / "keep" / "run.json").exists()
    clean_stale(runs / "no such folder")  # nothing to do, no error


def test_a_glob_pattern_in_out_is_a_name_not_a_pattern(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "other").mkdir(parents=True)
    (tmp_path / "runs" / "other" / "x").write_text("mine")
    assert run(capsys, "demo", *FAST, "--out", "runs/*")[0] == 0
    assert (tmp_path / "runs" / "other" / "x").read_text() == "mine"
    assert nnfit.load(tmp_path / "runs" / "*").predict([0.0]).shape == (1,)


def test_a_reader_that_leaves_costs_no_files(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "nnfit", "demo", "--no-window", "--steps", "10", "--out", "r"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )  # fmt: skip
    process.stdout.close()  # `| head -0`: the reader is gone before the first line
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert b"Traceback" not in err and b"Exception ignored" not in err
    assert nnfit.load(tmp_path / "r").run_info_["status"] == "complete"


PIPED = {  # command -> the file it must still write in full
    "examples": (["examples"], None),
    "demo --save": (["demo", "--no-window", "--steps", "10", "--save", "x.gif"], "x.gif"),
    "fit": (["fit", "d.csv", "--no-window", "--steps", "10", "--plot", "p.png"], "p.png"),
}


@pytest.mark.parametrize("case", list(PIPED))
def test_head_1_ends_quietly_and_the_files_are_written(tmp_path, case):
    args, output = PIPED[case]
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(12)))
    process = subprocess.Popen(
        [sys.executable, "-m", "nnfit", *args],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )  # fmt: skip
    assert process.stdout.readline()  # `| head -1`: one line, then the reader is gone
    process.stdout.close()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert b"Traceback" not in err and b"Exception ignored" not in err
    if output is not None:
        start, end = {"x.gif": (b"GIF89a", b";"), "p.png": (b"\x89PNG", b"IEND\xaeB`\x82")}[output]
        data = (tmp_path / output).read_bytes()  # whole: its first and its closing bytes
        assert data.startswith(start) and data.endswith(end), output


def test_stdout_on_a_full_device_is_one_line_and_exit_2(tmp_path, demo_run):
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "nnfit", "predict", str(demo_run), "--x", "1"],
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "cannot write to standard output" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_signal_while_saving_finishes_every_output(tmp_path):
    result = cli(
        "demo", *FAST, "--out", "r", "--plot", "fit.png", "--save", "fit.gif",
        cwd=tmp_path, driver="sigterm",
    )  # fmt: skip
    assert result.returncode == 130, result.stderr
    assert "finishing the outputs" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "fit.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "fit.gif").read_bytes()[:3] == b"GIF"
    assert nnfit.load(tmp_path / "r").run_info_["status"] == "complete"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_killed_export_leaves_no_partial_file(tmp_path, demo_run):
    result = cli("export", str(demo_run), "--python", "m.py", cwd=tmp_path, driver="sigterm")
    assert result.returncode == 130, result.stderr
    assert os.listdir(tmp_path) == []


# --- never write or read outside the target -----------------------------------------------


def test_links_are_never_written_through(tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    dangling = tmp_path / "t.jsonl"
    dangling.symlink_to(outside / "created.jsonl")
    code, _, err = run(capsys, "demo", *FAST, "--log", str(dangling))
    refused(code, err, "symbolic link")
    target = outside / "victim.txt"
    target.write_text("keep")
    link = tmp_path / "fit.png"
    link.symlink_to(target)
    code, _, err = run(capsys, "demo", *FAST, "--plot", str(link), "--overwrite")
    refused(code, err, "symbolic link")
    folder_link = tmp_path / "runlink"
    folder_link.symlink_to(outside)
    code, _, err = run(capsys, "demo", *FAST, "--out", str(folder_link), "--overwrite")
    refused(code, err, "symbolic link")
    assert os.listdir(outside) == ["victim.txt"] and target.read_text() == "keep"
    assert dangling.is_symlink() and link.is_symlink()


def test_special_files_are_never_replaced_and_dash_is_stdout(tmp_path, capsys, demo_run):
    code, _, err = run(capsys, "predict", str(demo_run), "--x", "1", "--out", "/dev/null",
                       "--overwrite")  # fmt: skip
    refused(code, err, "not a regular file", "use - for standard output")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    code, out, err = run(capsys, "predict", str(demo_run), "--x", "1", "--out", "-")
    assert code == 0 and out.splitlines()[0] == "x,y_pred", err
    fifo = tmp_path / "fit.png"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "demo", *FAST, "--plot", str(fifo), "--overwrite")
    refused(code, err, "FIFO")


# --- output paths that would fail only after training: refused before it --------------------


def test_unwritable_names_and_folders_are_refused_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "demo", *FAST, "--plot", "a" * 252 + ".png")
    refused(code, err, "longer than")
    code, _, err = run(capsys, "demo", *FAST, "--plot", "/proc/nnfit-test.png")
    refused(code, err, "not writable")
    code, _, err = run(capsys, "demo", *FAST, "--save", "no/such/folder/fit.gif")
    refused(code, err, "does not exist")
    code, _, err = run(capsys, "demo", *FAST, "--plot", ".nnfit-1-aaaaaaaa.tmp.png")
    refused(code, err, "temporaries")
    assert os.listdir(tmp_path) == []


def test_a_full_disk_is_one_line_and_leaves_no_partial_file(tmp_path):
    import resource

    def small_files():  # files above 16 kB cannot be written, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (16_384, 16_384))

    result = cli("demo", *FAST, "--save", "fit.gif", cwd=tmp_path, preexec_fn=small_files)
    assert result.returncode == 2, result.stderr
    assert "cannot write fit.gif" in result.stderr and "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == []


def test_a_deleted_current_folder_is_one_line(tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    script = f"cd {gone} && rmdir {gone} && exec {sys.executable} -m nnfit demo --no-window -q"
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "current folder no longer exists" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_run_folders_follow_the_users_umask(tmp_path, mask):
    result = cli(
        "demo", *FAST, "--out", "r", "--plot", "p.png", "--save", "a.gif", "--log", "l.jsonl",
        cwd=tmp_path, preexec_fn=lambda: os.umask(mask),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "r"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~mask
    for file in [*folder.iterdir(), tmp_path / "p.png", tmp_path / "a.gif", tmp_path / "l.jsonl"]:
        assert stat.S_IMODE(file.stat().st_mode) == 0o666 & ~mask, file.name


def test_log_is_created_exclusively(tmp_path, capsys):
    from nnfit.views.logfile import JsonlLog

    path = tmp_path / "t.jsonl"
    log = JsonlLog(path)
    path.write_text("theirs")  # appears after the check, before training begins
    with pytest.raises(OutputTaken):
        log.on_train_begin(None)
    assert path.read_text() == "theirs"
