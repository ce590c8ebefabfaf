"""The live window: display detection, and a real TkAgg window on a virtual X screen (Xvfb)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from nnfit.views.live import has_display


@pytest.mark.parametrize(
    "backend", ["Agg", "agg", "pdf", "module://matplotlib_inline.backend_inline"]
)
def test_no_display_with_a_non_interactive_backend(monkeypatch, backend):
    monkeypatch.setenv("MPLBACKEND", backend)
    monkeypatch.setenv("DISPLAY", ":0")
    assert has_display() is False


def test_no_display_on_linux_without_display_variables(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert has_display() is False


def test_display_on_linux_needs_a_toolkit(monkeypatch):
    import nnfit.views.live

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setattr(nnfit.views.live, "gui_backend", lambda: "TkAgg")
    assert has_display() is True
    monkeypatch.setattr(nnfit.views.live, "gui_backend", lambda: None)
    assert has_display() is False


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_display_on_macos_and_windows(monkeypatch, platform):
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    assert has_display() is True


# ----- a real window -----

SCRIPT = textwrap.dedent(
    """
    import json, signal, sys, threading, time
    import matplotlib.pyplot as plt
    import numpy as np
    import nnfit
    from nnfit.core.callbacks import Callback
    from nnfit.core.trainstate import Control
    from nnfit.views.live import LiveWindow, has_display, run_live

    x, y = nnfit.make_data(seed=0)
    out = {"display": has_display()}

    def fit(window, stop=None, steps=100, callbacks=()):
        model = nnfit.MLP(1, 10, 1, seed=0)
        config = nnfit.TrainConfig(steps=steps, every=5)
        return lambda: nnfit.train(
            model, (x, y), config, callbacks=[*callbacks, window], control=Control(stop=stop)
        )

    # a whole run, not waiting at the end
    window = LiveWindow(fps=60, title="nnfit: lesson")
    started = time.monotonic()
    history = run_live(fit(window), window, wait=False)
    rgba = np.asarray(window.figure.canvas.buffer_rgba())
    red = (rgba[..., 0] > 200) & (rgba[..., 1] < 60) & (rgba[..., 2] < 60)
    out["full"] = {
        "backend": plt.get_backend(),
        "snapshots": len(history.snapshots),
        "frames": window.frames_shown,
        "open": window.is_open,
        "red_pixels": int(red.sum()),
        "seconds": time.monotonic() - started,
        "title": window.figure.canvas.manager.get_window_title(),
    }
    window.close()

    # the user closes the window after the 3rd frame
    class CloseEarly(LiveWindow):
        def show_frame(self, snapshot):
            super().show_frame(snapshot)
            if self.frames_shown == 3:
                plt.close(self.figure)

    window = CloseEarly(fps=20)
    history = run_live(fit(window), window, wait=True)
    out["early"] = {
        "snapshots": len(history.snapshots),
        "frames": window.frames_shown,
        "closed": window.closed.is_set(),
    }

    # wait=True keeps the window open until it is closed (here by a timer)
    class CloseLater(LiveWindow):
        def show_frame(self, snapshot):
            super().show_frame(snapshot)
            if snapshot.final:
                self.shown_at = time.monotonic()
                self.timer = self.figure.canvas.new_timer(interval=500)
                self.timer.add_callback(plt.close, self.figure)
                self.timer.start()

    window = CloseLater(fps=60)
    history = run_live(fit(window), window, wait=True)
    out["wait"] = {
        "frames": window.frames_shown,
        "waited": time.monotonic() - window.shown_at,
    }

    # an error in the training thread comes out of run_live
    class Fails(Callback):
        def on_snapshot(self, snapshot):
            if snapshot.step == 10:
                raise ValueError("boom")

    window = LiveWindow(fps=60)
    try:
        run_live(fit(window, callbacks=[Fails()]), window, wait=False)
        out["error"] = None
    except ValueError as error:
        out["error"] = str(error)
    out["error_closed"] = window.closed.is_set()

    # Ctrl-C in the main thread stops training cleanly through the stop event
    class Interrupt(LiveWindow):
        def show_frame(self, snapshot):
            super().show_frame(snapshot)
            if self.frames_shown == 3:
                signal.raise_signal(signal.SIGINT)

    stop = threading.Event()
    window = Interrupt(fps=60)
    history = run_live(fit(window, stop=stop, steps=10_000_000), window, stop=stop)
    out["interrupt"] = {
        "stop_reason": history.stop_reason,
        "last_step": history.final.step,
        "closed": window.closed.is_set(),
    }
    # a preview of the data first; the run then plays in the same window
    window = LiveWindow(fps=60)
    window.preview(x.numpy(), y.numpy())
    previewed = window._preview
    history = run_live(fit(window), window, wait=False)
    rgba = np.asarray(window.figure.canvas.buffer_rgba())
    red = (rgba[..., 0] > 200) & (rgba[..., 1] < 60) & (rgba[..., 2] < 60)
    out["preview"] = {
        "same_window": window.figure is previewed,
        "frames": window.frames_shown,
        "red_pixels": int(red.sum()),
        "figures": len(plt.get_fignums()),
    }
    window.close()
    out["preview"]["closed"] = len(plt.get_fignums())
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def live_run(window_env, tmp_path_factory):
    """Run the window scenarios once in a fresh interpreter (the GUI backend stays there)."""
    script = tmp_path_factory.mktemp("live") / "live_script.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)], env=window_env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_real_window_plays_every_snapshot(live_run):
    full = live_run["full"]
    assert live_run["display"] is True
    assert full["backend"].lower() == "tkagg"
    assert full["snapshots"] == 21
    assert full["frames"] == 21
    assert full["red_pixels"] > 500  # the lesson's thick red line is on screen
    assert full["title"] == "nnfit: lesson"  # the run's name, not "Figure 1"


def test_frames_play_at_fps_after_a_fast_run(live_run):
    # training takes milliseconds; 21 frames at 60 fps still take a third of a second
    assert live_run["full"]["seconds"] >= 20 / 60


def test_no_wait_returns_with_the_window_open(live_run):
    assert live_run["full"]["open"] is True


def test_closing_the_window_early_keeps_the_run(live_run):
    assert live_run["early"] == {"snapshots": 21, "frames": 3, "closed": True}


def test_wait_keeps_the_window_until_closed(live_run):
    assert live_run["wait"]["frames"] == 21
    assert live_run["wait"]["waited"] >= 0.4


def test_training_error_is_raised_in_the_main_thread(live_run):
    assert live_run["error"] == "boom"
    assert live_run["error_closed"] is True


def test_ctrl_c_stops_training_cleanly(live_run):
    interrupt = live_run["interrupt"]
    assert interrupt["stop_reason"] == "interrupted"
    assert 0 < interrupt["last_step"] < 10_000_000
    assert interrupt["closed"] is True


def test_the_preview_window_then_plays_the_run(live_run):
    preview = live_run["preview"]
    assert preview["same_window"] is True and preview["frames"] == 21
    assert preview["red_pixels"] > 500  # the fit is drawn over the cleared preview
    assert preview["figures"] - preview["closed"] == 1  # one window, closed by close()


def test_the_demo_shows_its_data_before_torch_loads(window_env, tmp_path):
    env = {**window_env, "NNFIT_FIRST_FRAME": "1"}
    argv = ["demo", "--steps", "5", "--no-wait", "-q"]
    done = subprocess.run(
        [sys.executable, "-m", "nnfit", *argv],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    marks = [line for line in done.stderr.splitlines() if line.startswith("nnfit-first-frame")]
    assert len(marks) == 1 and marks[0].endswith("torch=0"), done.stderr[-3000:]
