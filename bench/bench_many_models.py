"""Many models at once: M copies of the lesson's problem, nnfit against its peers in one run.

The lesson's problem: 100 points of x² + 0.2 U(0, 1) (``make_data(seed=0)``), a 1-10-1 ReLU
network, full-batch SGD with lr 0.5, 100 steps, MSE. Speed is model-steps per second: M × steps
divided by the seconds of training (process start-up, imports and building the weights excluded).
Side by side, best of ``--repeat`` interleaved runs:

- nnfit: ``train(MLP(1, 10, 1, members=M, seed=0), (x, y), TrainConfig(lr=0.5, steps=100,
  every=100))``: one snapshot at the start and one at the end (a row with every=5 too). Where
  nnfit refuses M (its member limit), the cell says "refused";
- the lesson's plain PyTorch loop: ``Sequential(Linear, ReLU, Linear)``, ``torch.optim.SGD``,
  ``MSELoss``, one model after another; above ``--loop-models`` models it is timed on that many
  and extrapolated (marked ~);
- scikit-learn's ``MLPRegressor`` (sgd, no momentum, no penalty, one batch of all rows, 100
  epochs) in a loop, extrapolated the same way. Its loss is half the MSE, so lr 0.5 there steps
  half as far: the same work per step, not the same trajectory;
- JAX, when installed: ``jit(vmap(train))``, ``train`` a ``lax.scan`` over the steps, weights
  drawn as ``nn.Linear`` draws them; steady state (after compiling), and the compile seconds
  apart. Before timing, JAX and the plain loop train the same starting weights and their final
  losses must agree to float tolerance, or the script stops.

Also at M = 1,000: Adam (lr 0.01) and tanh; the real-data shape (1-64-64-1 tanh, Adam lr 0.01,
20 members, 80 rows, 1,000 steps); and end to end, a fresh process from the command to trained
weights (nnfit: ``python -c`` importing nnfit and training; JAX: import, compile, run), best of
``--repeat`` interleaved. The ratio columns are nnfit's speed over the peer's (above 1: nnfit
is faster; end to end, the peer's seconds over nnfit's).

Needs scikit-learn and JAX (the ``bench`` extra: ``pip install 'nnfit[bench]'``); a missing one
leaves its column empty.

Run: PYTHONPATH=src .venv/bin/python bench/bench_many_models.py  (prints a markdown table)
    --quick                  M = 1, 10, 100, 1,000, one repetition, 5 loop models
    --members 10,1000        these M
    --threads 1              threads for every method (default 1)
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jax_baseline import Problem

HERE = Path(__file__).parent
FULL_MEMBERS = "1,10,100,1000,10000,100000"
QUICK_MEMBERS = "1,10,100,1000"
LONG_RUN = 10.0  # seconds: a run this long is not repeated (its noise is small already)
Timing = tuple[float, str] | None  # model-steps/s and a note ("~" extrapolated), or not run
NNFIT_PROCESS = """
import nnfit
x, y = nnfit.make_data(seed=0)
model = nnfit.MLP(1, 10, 1, members={members}, seed=0)
nnfit.train(model, (x, y), nnfit.TrainConfig(lr=0.5, steps=100, every=100))
"""
JAX_PROCESS = """
import sys
sys.path.insert(0, {here!r})
from jax_baseline import end_to_end
end_to_end({members})
"""


def set_threads(threads: int) -> None:
    """One thread (or N) for torch, BLAS and XLA; XLA reads its flags when JAX is imported."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    if threads == 1:
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()


def has(module: str) -> bool:
    """Whether an optional package is installed."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


def lesson_data(problem: Problem) -> tuple[Any, Any]:
    """The lesson's data as torch tensors (rows, 1), through nnfit's own make_data."""
    from nnfit.data.synthetic import make_data

    return make_data(seed=0, points=problem.rows)


def plain_net(problem: Problem, seed: int) -> Any:
    """The lesson's network as a plain ``torch.nn.Sequential``."""
    import torch

    torch.manual_seed(seed)
    layers: list[torch.nn.Module] = []
    widths = problem.widths()
    for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i < len(widths) - 2:
            layers.append(torch.nn.ReLU() if problem.activation == "relu" else torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


def plain_loop(problem: Problem, nets: list[Any], x: Any, y: Any) -> float:
    """Train each net in turn as the lesson does; returns the seconds."""
    import torch

    optimizers = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}
    start = time.perf_counter()
    for net in nets:
        optimizer = optimizers[problem.optimizer](net.parameters(), lr=problem.lr)
        loss_func = torch.nn.MSELoss()
        for _ in range(problem.steps):
            # forward: predict and measure the error
            prediction = net(x)
            loss = loss_func(prediction, y)
            # backward: clear old gradients, compute new ones, step
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


def time_plain_loop(problem: Problem, x: Any, y: Any, most: int) -> Timing:
    n = min(problem.members, most)
    nets = [plain_net(problem, seed) for seed in range(n)]
    seconds = plain_loop(problem, nets, x, y)
    return n * problem.steps / seconds, "~" if n < problem.members else ""


def time_sklearn(problem: Problem, x: Any, y: Any, most: int) -> Timing:
    """MLPRegressor fitted ``n`` times in a loop: one batch of all rows per epoch = per step."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    n = min(problem.members, most)
    x_np, y_np = x.numpy(), y.numpy().ravel()
    start = time.perf_counter()
    for seed in range(n):
        model = MLPRegressor(
            hidden_layer_sizes=problem.hidden,
            activation=problem.activation,
            solver=problem.optimizer,
            learning_rate_init=problem.lr,
            batch_size=problem.rows,
            max_iter=problem.steps,
            momentum=0.0,
            alpha=0.0,
            shuffle=False,
            tol=0.0,
            n_iter_no_change=problem.steps + 1,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x_np, y_np)
        if model.n_iter_ != problem.steps:
            raise AssertionError(f"MLPRegressor ran {model.n_iter_} epochs, not {problem.steps}")
    seconds = time.perf_counter() - start
    return n * problem.steps / seconds, "~" if n < problem.members else ""


def time_nnfit(problem: Problem, x: Any, y: Any, every: int, compile: bool = False) -> Timing:
    """nnfit's ``train`` on ``MLP(..., members=M)``; "refused" when nnfit refuses M.
    ``compile``: with ``TrainConfig(compile=True)`` (compiled by ``NnfitCompiled`` first)."""
    from nnfit.core.model import MLP
    from nnfit.core.train_config import TrainConfig
    from nnfit.core.training import train
    from nnfit.errors import NNFitError

    try:
        model = MLP(
            1, problem.hidden, 1, activation=problem.activation, members=problem.members, seed=0
        )
        config = TrainConfig(
            optimizer=problem.optimizer,
            lr=problem.lr,
            steps=problem.steps,
            every=every,
            compile=compile,
        )
        start = time.perf_counter()
        train(model, (x, y), config)
    except NNFitError:
        return 0.0, "refused"
    return problem.members * problem.steps / (time.perf_counter() - start), ""


class NnfitCompiled:
    """nnfit with ``--compile``: compiled once on a short run (timed apart, as JAX's compile
    is), then timed like the plain engine."""

    def __init__(self, problem: Problem, x: Any, y: Any, every: int) -> None:
        self.problem, self.x, self.y, self.every = problem, x, y, every
        start = time.perf_counter()
        time_nnfit(problem.with_steps(2), x, y, every, compile=True)
        self.compile_seconds = time.perf_counter() - start

    def time(self) -> Timing:
        return time_nnfit(self.problem, self.x, self.y, self.every, compile=True)


class Jax:
    """JAX's trainer for one problem: compiled once (timed), then run to steady state."""

    def __init__(self, problem: Problem, x: Any, y: Any) -> None:
        import jax_baseline

        self.problem, self.x, self.y = problem, x.numpy(), y.numpy()
        self.params = jax_baseline.torch_like_init(problem)
        self.compiled, self.compile_seconds = jax_baseline.compile_train(
            problem, self.params, self.x, self.y
        )
        if problem.members * problem.steps < 10**6:  # a first run to allocate, where it is cheap
            jax_baseline.run(self.compiled, self.params, self.x, self.y)

    def time(self) -> Timing:
        import jax_baseline

        start = time.perf_counter()
        jax_baseline.run(self.compiled, self.params, self.x, self.y)
        return self.problem.members * self.problem.steps / (time.perf_counter() - start), ""


def check_jax(problem: Problem, x: Any, y: Any, members: int = 3) -> float:
    """Train the same starting weights in JAX and in the plain loop; stop if the final losses
    differ beyond float tolerance. Returns the largest relative difference."""
    import jax_baseline
    import numpy as np
    import torch

    small = problem.with_members(members)
    nets = [plain_net(small, seed) for seed in range(members)]
    params = []
    for i in range(0, len(nets[0]), 2):  # the Linear layers, between their activations
        weight = np.stack([net[i].weight.detach().numpy() for net in nets])
        bias = np.stack([net[i].bias.detach().numpy() for net in nets])
        params.append((weight, bias))
    compiled, _ = jax_baseline.compile_train(small, params, x.numpy(), y.numpy())
    _, jax_losses = jax_baseline.run(compiled, params, x.numpy(), y.numpy())
    plain_loop(small, nets, x, y)
    with torch.no_grad():
        torch_losses = np.array([torch.nn.functional.mse_loss(net(x), y).item() for net in nets])
    # float32 rounding: measured ~1e-6 relative after the lesson's 100 SGD steps, ~4e-4 after
    # 1,000 Adam steps of the 64-64 net; a wrong gradient or update is off by far more
    if not np.allclose(jax_losses, torch_losses, rtol=2e-3, atol=1e-6):
        raise AssertionError(
            f"{problem.name}: JAX's final losses {jax_losses} differ from torch's {torch_losses}"
        )
    return float(np.max(np.abs(jax_losses - torch_losses) / np.abs(torch_losses)))


def best_of(runs: dict[str, Callable[[], Timing]], repeat: int) -> dict[str, Timing]:
    """Each method's fastest run, the methods taking turns; a long run is not repeated."""
    best: dict[str, Timing] = dict.fromkeys(runs)
    done: set[str] = set()
    for _ in range(repeat):
        for name, once in runs.items():
            if name in done:
                continue
            start = time.perf_counter()
            result = once()
            if result is None or result[1] == "refused" or time.perf_counter() - start > LONG_RUN:
                done.add(name)
            current = best[name]
            if current is None or (result is not None and result[0] > current[0]):
                best[name] = result
    return best


def process_seconds(code: str, env: dict[str, str]) -> float | str:
    """Wall seconds of a fresh ``python -c code``, or the last line of its error when it fails
    (nnfit refusing M)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or ["no message"])[-1]
    return time.perf_counter() - start


def end_to_end(members: int, repeat: int, with_jax: bool) -> dict[str, float | str]:
    """Best-of-``repeat`` interleaved wall seconds of a whole process that trains M models (or
    why it failed)."""
    codes = {"nnfit": NNFIT_PROCESS.format(members=members)}
    if with_jax:
        codes["JAX"] = JAX_PROCESS.format(here=str(HERE), members=members)
    env = dict(os.environ)
    best: dict[str, float | str] = {}
    for _ in range(repeat):
        for name, code in codes.items():
            result = process_seconds(code, env)
            previous = best.get(name)
            if not isinstance(previous, float):  # the first result, or a time after a failure
                best[name] = result
            elif isinstance(result, float):
                best[name] = min(result, previous)
    return best


def rate(timing: Timing) -> str:
    if timing is None:
        return ""
    value, note = timing
    if note == "refused":
        return "refused"
    return f"{note}{value / 1e3:,.1f}k" if value >= 1e3 else f"{note}{value:,.0f}"


def ratio(ours: Timing, theirs: Timing) -> str:
    if ours is None or theirs is None or ours[1] == "refused":
        return ""
    return f"{ours[0] / theirs[0]:.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="M up to 1,000, one repetition")
    parser.add_argument("--members", help=f"comma-separated M (default {FULL_MEMBERS})")
    parser.add_argument("--repeat", type=int, help="interleaved repetitions (default 3)")
    parser.add_argument("--loop-models", type=int, help="models the loops time (default 20)")
    parser.add_argument("--threads", type=int, default=1, help="threads for every method")
    args = parser.parse_args(argv)
    chosen = args.members or (QUICK_MEMBERS if args.quick else FULL_MEMBERS)
    members = [int(m) for m in chosen.split(",")]
    repeat = args.repeat or (1 if args.quick else 3)
    loop_models = args.loop_models or (5 if args.quick else 20)
    set_threads(args.threads)  # before torch, BLAS or XLA start their thread pools

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    with_jax, with_sklearn = has("jax"), has("sklearn")
    lesson = Problem("lesson", 1)
    problems = [lesson.with_members(m) for m in members]
    variants = [
        (Problem("lesson, snapshots every 5", 1000), 5),
        (Problem("Adam lr 0.01", 1000, optimizer="adam", lr=0.01), 100),
        (Problem("tanh", 1000, activation="tanh"), 100),
        (
            Problem(
                "real-data shape 1-64-64-1 tanh Adam",
                20,
                hidden=(64, 64),
                activation="tanh",
                optimizer="adam",
                lr=0.01,
                steps=1000,
                rows=80,
            ),
            100,
        ),
    ]
    x, y = lesson_data(lesson)
    time_nnfit(lesson.with_members(2), x, y, 100)  # warm up: imports, the first optimiser
    checks = []
    if with_jax:
        for problem, _ in variants[1:]:  # SGD ReLU is the lesson's row, checked with Adam's
            checks.append(check_jax(problem, *lesson_data(problem)))
        checks.append(check_jax(lesson, x, y))

    rows = []
    for problem, every in [(p, 100) for p in problems] + variants:
        x, y = lesson_data(problem)
        runs: dict[str, Callable[[], Timing]] = {
            "nnfit": lambda p=problem, x=x, y=y, e=every: time_nnfit(p, x, y, e),
            "loop": lambda p=problem, x=x, y=y: time_plain_loop(p, x, y, loop_models),
        }
        if with_sklearn:
            runs["sklearn"] = lambda p=problem, x=x, y=y: time_sklearn(p, x, y, loop_models)
        ours = NnfitCompiled(problem, x, y, every)
        runs["compiled"] = ours.time
        compile_seconds: tuple[float, float | None] = (ours.compile_seconds, None)
        if with_jax:
            jax_run = Jax(problem, x, y)
            runs["JAX"] = jax_run.time
            compile_seconds = (ours.compile_seconds, jax_run.compile_seconds)
        best = best_of(runs, repeat)
        rows.append((problem, every, best, compile_seconds))
        print(f"done: {problem.name}, M={problem.members:,}", file=sys.stderr, flush=True)
    e2e = end_to_end(1000, repeat, with_jax)

    print(machine(args.threads, with_jax))
    print(
        f"model-steps/s, best of {repeat} interleaved; ~: the loops timed on {loop_models} models"
        " and extrapolated; nnfit snapshots every 100 steps (once at the start, once at the end)"
        " unless the row says otherwise"
    )
    if checks:
        print(f"JAX checked against the plain loop: final losses within {max(checks):.1e} (rel.)")
    for name, result in e2e.items():
        if isinstance(result, str):
            print(f"end to end: {name}'s process failed: {result}")
    print()
    print(table(rows, e2e))


def machine(threads: int, with_jax: bool) -> str:
    """One line: the machine and the versions measured."""
    import sklearn
    import torch

    versions = f"torch {torch.__version__}, scikit-learn {sklearn.__version__}"
    if with_jax:
        import jax

        versions += f", jax {jax.__version__}"
    return (
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {versions}, {threads} thread(s) per method"
    )


def table(
    rows: list[tuple[Problem, int, dict[str, Timing], tuple[float, float | None]]],
    e2e: dict[str, float | str],
) -> str:
    """The markdown table: one row per problem, the end-to-end row last."""
    lines = [
        "| problem | M | nnfit | nnfit --compile | plain loop | MLPRegressor | JAX "
        "| compile s: nnfit, JAX | nnfit / JAX | nnfit --compile / JAX | nnfit / loop |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for problem, _, best, (ours_compile, jax_compile) in rows:
        ours, jax_timing = best["nnfit"], best.get("JAX")
        compiled = f"{ours_compile:.1f}"
        if jax_compile is not None:
            compiled += f", {jax_compile:.2f}"
        cells = [
            problem.name,
            f"{problem.members:,}",
            rate(ours),
            rate(best["compiled"]),
            rate(best["loop"]),
            rate(best.get("sklearn")),
            rate(jax_timing),
            compiled,
            ratio(ours, jax_timing),
            ratio(best["compiled"], jax_timing),
            ratio(ours, best["loop"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    ours_s, jax_s = e2e["nnfit"], e2e.get("JAX")
    cells = [
        "end to end, fresh process, s",
        "1,000",
        f"{ours_s:.2f}" if isinstance(ours_s, float) else "failed",
        "",
        "",
        "",
        f"{jax_s:.2f}" if isinstance(jax_s, float) else ("" if jax_s is None else "failed"),
        "",
        f"{jax_s / ours_s:.2f}" if isinstance(ours_s, float) and isinstance(jax_s, float) else "",
        "",
        "",
    ]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
