"""The threads rule (``nnfit.core.threads``), the ``threads`` setting and its way into training."""

import json

import pytest
import torch

import nnfit
from nnfit.cli import main
from nnfit.core.threads import (
    FREE_CORES,
    WORK_PER_THREAD,
    available_cores,
    choose_threads,
    step_work,
    using_threads,
)
from nnfit.core.train_config import MAX_THREADS
from nnfit.runs.config import build_config, config_toml, read_config

QUICK = ["--no-window", "-q", "--steps", "20", "--every", "10"]


class ThreadsSeen(nnfit.Callback):
    """Records torch's thread count at each snapshot during training; raises ``error`` at the
    first if given."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.seen: list[int] = []
        self.error = error

    def on_snapshot(self, snapshot) -> None:
        if snapshot.final:  # recorded after training, on the threads put back
            return
        self.seen.append(torch.get_num_threads())
        if self.error is not None and len(self.seen) == 1:
            raise self.error


def lesson(threads=None, steps=10):
    x, y = nnfit.make_data(seed=0)
    config = nnfit.TrainConfig(steps=steps, every=5, threads=threads)
    return nnfit.MLP(1, 10, 1, seed=0), (x, y), config


def test_step_work_counts_each_layers_multiply_adds_per_row_and_member():
    assert step_work(100, (1, 10, 1)) == 100 * (1 * 10 + 10 * 1)
    assert step_work(80, (1, 64, 64, 1), members=20) == 20 * step_work(80, (1, 64, 64, 1))
    assert step_work(3, (2, 5, 4, 3)) == 3 * (2 * 5 + 5 * 4 + 4 * 3)


def test_small_work_runs_on_one_thread_however_many_cores():
    for work in (0, 1, WORK_PER_THREAD, 2 * WORK_PER_THREAD - 1):
        assert choose_threads(work, cores=64) == 1


def test_large_work_gets_a_thread_per_share_leaving_a_core_free():
    assert choose_threads(2 * WORK_PER_THREAD, cores=64) == 2
    assert choose_threads(5 * WORK_PER_THREAD + 1, cores=64) == 5
    assert choose_threads(1000 * WORK_PER_THREAD, cores=4) == 4 - FREE_CORES
    assert choose_threads(1000 * WORK_PER_THREAD, cores=2) == 1  # the reference machine
    assert choose_threads(1000 * WORK_PER_THREAD, cores=1) == 1
    assert choose_threads(1000 * WORK_PER_THREAD) == max(1, available_cores() - FREE_CORES)


def test_a_gpu_run_uses_one_cpu_thread():
    assert choose_threads(1000 * WORK_PER_THREAD, "cuda", cores=64) == 1


def test_available_cores_are_at_least_one():
    assert available_cores() >= 1


def test_the_rule_reaches_torch_during_training_and_the_count_is_put_back():
    model, data, config = lesson()
    widths = (1, *model.hidden, 1)
    expected = choose_threads(step_work(100, widths), "cpu")
    torch.set_num_threads(3)  # the fixture puts its own count back after the test
    callback = ThreadsSeen()
    nnfit.train(model, data, config, callbacks=[callback])
    assert set(callback.seen) == {expected}
    assert torch.get_num_threads() == 3


def test_the_threads_setting_overrides_the_rule_during_training():
    model, data, config = lesson(threads=3)
    callback = ThreadsSeen()
    nnfit.train(model, data, config, callbacks=[callback])
    assert set(callback.seen) == {3}
    assert torch.get_num_threads() == 1


def test_threads_are_put_back_after_an_error_in_training():
    model, data, config = lesson(threads=3)
    with pytest.raises(ZeroDivisionError):
        nnfit.train(model, data, config, callbacks=[ThreadsSeen(ZeroDivisionError())])
    assert torch.get_num_threads() == 1


def test_threads_are_put_back_after_ctrl_c_in_training():
    model, data, config = lesson(threads=3)
    callback = ThreadsSeen(KeyboardInterrupt())
    history = nnfit.train(model, data, config, callbacks=[callback])
    assert history.stop_reason == "interrupted" and callback.seen[0] == 3
    assert torch.get_num_threads() == 1


def test_using_threads_sets_them_for_the_block_and_puts_them_back_on_ctrl_c():
    with pytest.raises(KeyboardInterrupt), using_threads(2) as threads:
        assert threads == torch.get_num_threads() == 2
        raise KeyboardInterrupt
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("value", [0, -1, MAX_THREADS + 1, 1.5, "2", True])
def test_bad_thread_counts_are_refused_by_the_estimators_in_one_line(value):
    from nnfit.sklearn import NNFitRegressor

    x, y = [[0.0], [1.0], [2.0], [3.0]], [0.0, 1.0, 4.0, 9.0]
    for estimator in (nnfit.Regressor(threads=value), NNFitRegressor(threads=value)):
        with pytest.raises(nnfit.UsageError, match="threads") as error:
            estimator.fit(x, y)
        assert "\n" not in str(error.value)


@pytest.mark.parametrize("value", ["0", "1025", "two", "1.5"])
def test_bad_threads_flags_exit_2_with_one_line(tmp_path, capsys, value):
    out_dir = tmp_path / "run"
    code = main(["fit", "--example", "cars", *QUICK, "--threads", value, "--out", str(out_dir)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--threads" in err
    assert not out_dir.exists()


def test_bad_threads_in_a_settings_file_name_the_key(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[train]\nthreads = 0\n")
    with pytest.raises(nnfit.UsageError, match=r"\[train\] threads \(--threads\)") as error:
        build_config(base=read_config(path), source=str(path))
    assert "\n" not in str(error.value)


def test_threads_round_trip_through_toml_and_unset_stays_unset(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(config_toml(build_config(train={"threads": 2})))
    assert build_config(base=read_config(path)).train.threads == 2
    path.write_text(config_toml(build_config()))
    assert build_config(base=read_config(path)).train.threads is None


def test_threads_flag_is_saved_in_the_config_and_run_json_and_reloads(tmp_path, capsys):
    folder, toml = tmp_path / "run", tmp_path / "run.toml"
    argv = ["fit", "--example", "cars", *QUICK, "--threads", "2", "--out", str(folder)]
    assert main([*argv, "--members", "1", "--save-config", str(toml)]) == 0
    assert build_config(base=read_config(toml)).train.threads == 2
    info = json.loads((folder / "run.json").read_text())
    assert info["settings"]["train"]["threads"] == 2
    assert nnfit.load(folder).threads == 2
