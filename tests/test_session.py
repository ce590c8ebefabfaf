"""Ctrl-C and SIGTERM through a run's phases (runs/session.py), by calling the handler itself.

Real signals while training and saving, through the CLI, are in test_hostile_outputs.py.
"""

import signal
import threading

import pytest

import nnfit
from nnfit.runs.session import RunSignals, say


def test_while_loading_a_signal_interrupts_at_once():
    signals = RunSignals()
    assert signals.phase == "loading"
    with pytest.raises(KeyboardInterrupt):
        signals._handle(signal.SIGINT, None)


def test_in_the_live_window_a_signal_interrupts_at_once():
    signals = RunSignals()
    signals.phase = "live"
    with pytest.raises(KeyboardInterrupt):
        signals._handle(signal.SIGTERM, None)
    assert not signals.stop.is_set()


def test_while_training_the_first_signal_asks_the_loop_to_stop():
    signals = RunSignals()
    signals.phase = "training"
    signals._handle(signal.SIGINT, None)
    assert signals.stop.is_set() and not signals.late


def test_while_training_a_second_signal_interrupts():
    signals = RunSignals()
    signals.phase = "training"
    signals._handle(signal.SIGINT, None)
    with pytest.raises(KeyboardInterrupt):
        signals._handle(signal.SIGTERM, None)


def test_while_saving_the_first_signal_finishes_the_outputs(capsys):
    signals = RunSignals()
    signals.phase = "saving"
    signals._handle(signal.SIGTERM, None)
    assert signals.late and not signals.stop.is_set()
    err = capsys.readouterr().err
    assert err == "nnfit: finishing the outputs before stopping (again to abandon them)\n"


def test_while_saving_a_second_signal_abandons_them():
    signals = RunSignals()
    signals.phase = "saving"
    signals._handle(signal.SIGINT, None)
    with pytest.raises(KeyboardInterrupt):
        signals._handle(signal.SIGINT, None)


def test_a_stop_from_training_still_lets_saving_finish(capsys):
    signals = RunSignals()
    signals.phase = "training"
    signals._handle(signal.SIGINT, None)
    signals.phase = "saving"
    signals._handle(signal.SIGINT, None)  # noted, not raised
    assert signals.late and "finishing the outputs" in capsys.readouterr().err


def test_handlers_are_installed_for_the_block_and_then_given_back():
    assert threading.current_thread() is threading.main_thread()
    before = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM)}
    with RunSignals() as signals:
        for number in before:
            assert signal.getsignal(number) == signals._handle
    assert {n: signal.getsignal(n) for n in before} == before and signals.previous == {}


def test_outside_the_main_thread_no_handler_is_installed():
    before = signal.getsignal(signal.SIGINT)
    seen = []

    def block():
        with RunSignals() as signals:
            seen.append((signals.previous, signal.getsignal(signal.SIGINT)))

    thread = threading.Thread(target=block)
    thread.start()
    thread.join()
    assert seen == [({}, before)]


def test_say_prints_one_printable_line_on_stderr(capsys):
    say(nnfit.Outputs(), "saved to runs/\x1b]0;x\x07r")
    out, err = capsys.readouterr()
    assert out == "" and err.endswith("\n") and "\x1b" not in err and "\x07" not in err
    assert err.startswith("saved to runs/")


def test_say_is_silent_when_quiet(capsys):
    say(nnfit.Outputs(quiet=True), "saved")
    assert capsys.readouterr() == ("", "")


class StubWindow:
    """A live window that stays open until ``wait_closed`` is interrupted."""

    def __init__(self):
        self.is_open, self.closed = True, False

    def wait_closed(self):
        raise KeyboardInterrupt  # Ctrl-C or SIGTERM while the window waits

    def close(self):
        self.is_open, self.closed = False, True


def waiting_session(wait=True):
    from nnfit.runs.runner import Outputs
    from nnfit.runs.session import Session

    session = Session(None, Outputs(wait=wait), "demo", None, "", None)
    session.window = StubWindow()
    return session


def test_after_the_results_a_signal_only_closes_the_live_window(capsys):
    session = waiting_session()
    session.wait_for_window()  # no KeyboardInterrupt: nothing is left to save
    assert session.window.closed and session.signals.phase == "waiting"
    assert "close the window (or press q in it) to finish" in capsys.readouterr().err


def test_no_wait_leaves_at_once():
    session = waiting_session(wait=False)
    session.wait_for_window()
    assert not session.window.closed and session.signals.phase == "loading"
