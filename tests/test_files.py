"""Atomic outputs (io/files.py): published whole, created exclusively, never lost.

Races, links, devices, stale temporaries and full disks through the CLI are in
test_hostile_outputs.py; these are the building blocks one at a time.
"""

import os

import pytest

from nnfit.errors import UsageError
from nnfit.io.files import (
    AtomicDir,
    AtomicFile,
    OutputTaken,
    recover_dir,
    unique_path,
    write_atomic,
)
from nnfit.io.temps import remove_folder


def names(folder):
    return sorted(os.listdir(folder))


def make_folder(path, files):
    path.mkdir()
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def test_a_file_appears_only_when_the_block_ends(tmp_path):
    target = tmp_path / "fit.png"
    with AtomicFile(target) as temp:
        temp.write_bytes(b"picture")
        assert not target.exists() and temp.parent == tmp_path and temp.name.startswith(".nnfit-")
    assert target.read_bytes() == b"picture" and names(tmp_path) == ["fit.png"]


def test_a_failed_block_leaves_no_file_and_no_temporary(tmp_path):
    with pytest.raises(RuntimeError), AtomicFile(tmp_path / "fit.png") as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("drawing failed")
    assert names(tmp_path) == []


def test_a_failed_overwrite_keeps_the_old_file(tmp_path):
    target = tmp_path / "fit.png"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), AtomicFile(target, overwrite=True) as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("drawing failed")
    assert target.read_bytes() == b"old" and names(tmp_path) == ["fit.png"]


def test_an_existing_file_is_never_replaced_without_overwrite(tmp_path):
    target = tmp_path / "fit.png"
    target.write_bytes(b"old")
    with pytest.raises(OutputTaken), AtomicFile(target) as temp:
        temp.write_bytes(b"new")
    assert target.read_bytes() == b"old" and names(tmp_path) == ["fit.png"]


def test_overwrite_replaces_a_regular_file(tmp_path):
    target = tmp_path / "fit.png"
    target.write_bytes(b"old")
    assert write_atomic(target, b"new") == target  # write_atomic overwrites by default
    assert target.read_bytes() == b"new" and names(tmp_path) == ["fit.png"]


def test_a_symlink_is_refused_before_anything_is_written(tmp_path):
    real = tmp_path / "real.png"
    real.write_bytes(b"theirs")
    link = tmp_path / "fit.png"
    link.symlink_to(real)
    with pytest.raises(UsageError, match="symbolic link"), AtomicFile(link, overwrite=True):
        pass
    assert (
        real.read_bytes() == b"theirs"
        and link.is_symlink()
        and names(tmp_path)
        == [
            "fit.png",
            "real.png",
        ]
    )


def test_a_folder_is_published_whole(tmp_path):
    target = tmp_path / "runs" / "r"  # runs/ is made on the way
    with AtomicDir(target, names={"a.txt"}) as temp:
        (temp / "a.txt").write_text("a")
        assert not target.exists()
    assert names(target) == ["a.txt"] and names(tmp_path / "runs") == ["r"]


def test_an_existing_folder_is_never_replaced_without_overwrite(tmp_path):
    target = make_folder(tmp_path / "r", {"a.txt": "old"})
    with pytest.raises(OutputTaken), AtomicDir(target, names={"a.txt"}) as temp:
        (temp / "a.txt").write_text("new")
    assert (target / "a.txt").read_text() == "old" and names(tmp_path) == ["r"]


def test_keep_publishes_a_taken_folder_under_the_next_free_name(tmp_path):
    target = make_folder(tmp_path / "r", {"a.txt": "old"})
    make_folder(tmp_path / "r-1", {})
    writer = AtomicDir(target, keep=True, names={"a.txt"})
    with writer as temp:
        (temp / "a.txt").write_text("new")
    assert writer.path == tmp_path / "r-2" and writer.taken == target
    assert (target / "a.txt").read_text() == "old" and (writer.path / "a.txt").read_text() == "new"


def test_overwrite_swaps_in_the_new_folder_and_removes_the_old(tmp_path):
    target = make_folder(tmp_path / "r", {"a.txt": "old", "b.txt": "old"})
    with AtomicDir(target, overwrite=True, names={"a.txt", "b.txt"}) as temp:
        (temp / "a.txt").write_text("new")
    assert names(target) == ["a.txt"] and (target / "a.txt").read_text() == "new"
    assert names(tmp_path) == ["r"]  # no backup, no temporary


def test_overwrite_keeps_a_file_nnfit_did_not_write_hidden_beside(tmp_path):
    target = make_folder(tmp_path / "r", {"a.txt": "old", "mine.txt": "precious"})
    with AtomicDir(target, overwrite=True, names={"a.txt"}) as temp:
        (temp / "a.txt").write_text("new")
    assert names(target) == ["a.txt"]
    (kept,) = [p for p in tmp_path.iterdir() if p.name != "r"]
    assert kept.name.startswith(".") and names(kept) == ["mine.txt"]
    assert (kept / "mine.txt").read_text() == "precious"


def test_remove_folder_deletes_a_folder_of_named_files(tmp_path):
    folder = make_folder(tmp_path / "r", {"a.txt": "a", "b.txt": "b"})
    assert remove_folder(folder, {"a.txt", "b.txt"}) is True
    assert not folder.exists()


def test_remove_folder_leaves_a_foreign_file_and_its_folder(tmp_path):
    folder = make_folder(tmp_path / "r", {"a.txt": "a", "mine.txt": "precious"})
    assert remove_folder(folder, {"a.txt"}) is False
    assert names(folder) == ["mine.txt"]


def test_remove_folder_never_deletes_a_link_even_with_a_listed_name(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("theirs")
    folder = make_folder(tmp_path / "r", {})
    (folder / "a.txt").symlink_to(real)
    assert remove_folder(folder, {"a.txt"}) is False
    assert (folder / "a.txt").is_symlink() and real.read_text() == "theirs"


def test_remove_folder_keeps_subfolders_whatever_the_names(tmp_path):
    folder = make_folder(tmp_path / "r", {"a.txt": "a"})
    (folder / "sub").mkdir()
    assert remove_folder(folder, None) is False
    assert names(folder) == ["sub"]


def test_remove_folder_of_a_missing_folder_is_done(tmp_path):
    assert remove_folder(tmp_path / "gone", {"a.txt"}) is True


def test_unique_path_counts_up_from_the_stem(tmp_path):
    target = tmp_path / "fit.png"
    assert unique_path(target) == target
    target.write_bytes(b"")
    (tmp_path / "fit-1.png").write_bytes(b"")
    assert unique_path(target) == tmp_path / "fit-2.png"


def test_unique_path_counts_a_dangling_link_as_taken(tmp_path):
    folder = tmp_path / "run"
    folder.symlink_to(tmp_path / "nowhere")
    assert unique_path(folder) == tmp_path / "run-1"


def test_recover_dir_puts_back_a_folder_left_between_two_renames(tmp_path):
    backup = make_folder(tmp_path / ".r.nnfit-old", {"a.txt": "old"})
    recover_dir(tmp_path / "r")
    assert not backup.exists() and (tmp_path / "r" / "a.txt").read_text() == "old"


def test_recover_dir_leaves_an_existing_folder_and_the_backup(tmp_path):
    make_folder(tmp_path / ".r.nnfit-old", {"a.txt": "old"})
    make_folder(tmp_path / "r", {"a.txt": "new"})
    recover_dir(tmp_path / "r")
    assert (tmp_path / "r" / "a.txt").read_text() == "new"
    assert (tmp_path / ".r.nnfit-old" / "a.txt").read_text() == "old"


def test_recover_dir_never_renames_a_linked_backup(tmp_path):
    real = make_folder(tmp_path / "elsewhere", {"a.txt": "theirs"})
    (tmp_path / ".r.nnfit-old").symlink_to(real)
    recover_dir(tmp_path / "r")
    assert not os.path.lexists(tmp_path / "r") and (tmp_path / ".r.nnfit-old").is_symlink()


def test_a_new_folder_first_recovers_an_interrupted_replacement(tmp_path):
    make_folder(tmp_path / ".r.nnfit-old", {"a.txt": "old"})
    with pytest.raises(OutputTaken), AtomicDir(tmp_path / "r", names={"a.txt"}) as temp:
        (temp / "a.txt").write_text("new")
    assert (tmp_path / "r" / "a.txt").read_text() == "old" and names(tmp_path) == ["r"]
