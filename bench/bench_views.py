"""Seconds per saved GIF frame: nnfit's blitting ``animate`` against the lesson's redraw-everything.

The lesson (Morvan Zhou's 301_regression.py) clears the axes and plots everything again for each
frame; saved through matplotlib's FuncAnimation + PillowWriter, every frame is a full drawing and
gets its own colour palette. nnfit draws the static parts once, blits the moving artists and maps
every frame onto one palette. Same run, same frame count, same pixel size.

Run:  python bench/bench_views.py [--steps 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script, not a library: choosing the backend here is fine

import matplotlib.pyplot as plt
from matplotlib.animation import FuncAnimation, PillowWriter
from PIL import Image

import nnfit
from nnfit.core.traindata import prepare
from nnfit.views.animation import animate

SIZE = (800, 400)  # pixels, nnfit's default frame
DPI = 100
FPS = 10


def make_history(steps: int) -> nnfit.History:
    """The lesson's run: 100 noisy points of x², Linear(1, 10) → ReLU → Linear(10, 1), SGD 0.5."""
    x, y = nnfit.make_data(seed=0)
    model = nnfit.MLP(1, 10, 1, seed=0)
    return nnfit.train(
        model, prepare(x, y, noise_floor=0.2**2 / 12), nnfit.TrainConfig(steps=steps, every=5)
    )


def lesson_gif(history: nnfit.History, path: Path) -> None:
    """The lesson's way: ``ax.cla()`` and plot everything again, saved with PillowWriter."""
    fig = plt.figure(figsize=(SIZE[0] / DPI, SIZE[1] / DPI), dpi=DPI)
    ax = fig.add_subplot()
    x, y = history.x[:, 0], history.y[:, 0]
    x_grid = history.x_grid[:, 0]

    def update(i: int) -> None:
        snapshot = history.snapshots[i]
        ax.cla()
        ax.scatter(x, y)
        ax.plot(x_grid, snapshot.y_pred[:, 0], "r-", lw=5)
        ax.text(0.5, 0, "Loss=%.4f" % snapshot.loss, fontdict={"size": 20, "color": "red"})  # noqa: UP031

    animation = FuncAnimation(fig, update, frames=len(history.snapshots), repeat=False)
    animation.save(path, writer=PillowWriter(fps=FPS), dpi=DPI)
    plt.close(fig)


def nnfit_gif(history: nnfit.History, path: Path) -> None:
    animate(history, path, fps=FPS, size=SIZE)  # run_once removed the previous file


def run_once(write, history: nnfit.History, path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one run, after checking the file it wrote."""
    path.unlink(missing_ok=True)
    wall, cpu = time.perf_counter(), time.process_time()
    write(history, path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with Image.open(path) as image:
        assert image.n_frames == len(history.snapshots), (path, image.n_frames)
        assert image.size == SIZE, (path, image.size)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps (frames = /5 + 1)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    args = parser.parse_args()

    history = make_history(args.steps)
    n_frames = len(history.snapshots)
    methods = {
        "lesson: cla + replot, FuncAnimation+PillowWriter": lesson_gif,
        "nnfit.animate: blitting + one palette": nnfit_gif,
    }
    best = {name: (math.inf, math.inf) for name in methods}
    with tempfile.TemporaryDirectory() as folder:
        warm = make_history(10)  # fonts, caches and imports loaded before timing either
        for i, write in enumerate(methods.values()):  # nnfit replaces only its own files
            write(warm, Path(folder) / f"warm-{i}.gif")
        for _ in range(args.repeat):  # alternate, so both see the same load on the machine
            for name, write in methods.items():
                wall, cpu = run_once(write, history, Path(folder) / "out.gif")
                best[name] = (min(best[name][0], wall), min(best[name][1], cpu))

    print(f"{n_frames} GIF frames of {SIZE[0]}x{SIZE[1]} px, best of {args.repeat} (alternating)")
    print(f"{'method':<50} {'wall s':>7} {'ms/frame':>9} {'CPU ms/frame':>13}")
    for name, (wall, cpu) in best.items():
        print(
            f"{name:<50} {wall:>7.2f} {1000 * wall / n_frames:>9.1f} {1000 * cpu / n_frames:>13.1f}"
        )
    (lesson_wall, lesson_cpu), (ours_wall, ours_cpu) = best.values()
    print(
        f"nnfit is {lesson_wall / ours_wall:.1f}x faster per frame by wall time, "
        f"{lesson_cpu / ours_cpu:.1f}x by CPU time (target: at least 5x)"
    )


if __name__ == "__main__":
    main()
