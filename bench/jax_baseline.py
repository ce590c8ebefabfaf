"""The baseline for bench_many_models: M copies of a small MLP trained in JAX, ``jit(vmap(train))``
with ``train`` a ``lax.scan`` over full-batch SGD or Adam steps.

The network, loss and optimisers are those of the lesson's plain PyTorch loop: ``nn.Linear``
layers (weights and biases U(-1/sqrt(in), 1/sqrt(in))), ``MSELoss`` (the mean), ``torch.optim.SGD``
without momentum or ``torch.optim.Adam`` with its defaults. JAX is a benchmark-only dependency
(``pip install 'nnfit[bench]'``); this module imports it lazily, so importing it costs nothing.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults


@dataclass(frozen=True)
class Problem:
    """One benchmark problem: M copies of a 1-hidden-...-1 network on ``rows`` points."""

    name: str
    members: int
    hidden: tuple[int, ...] = (10,)
    activation: str = "relu"  # relu or tanh
    optimizer: str = "sgd"  # sgd or adam
    lr: float = 0.5
    steps: int = 100
    rows: int = 100

    def widths(self) -> tuple[int, ...]:
        return (1, *self.hidden, 1)

    def with_members(self, members: int) -> Problem:
        return replace(self, members=members)

    def with_steps(self, steps: int) -> Problem:
        return replace(self, steps=steps)


Params = list[tuple[Any, Any]]  # per layer (weight (M, out, in), bias (M, out))


def lesson_data(rows: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The lesson's data in NumPy (x evenly spaced on [-1, 1], y = x² + 0.2 U(0, 1)), float32
    (rows, 1) each, for a process that should not import torch."""
    x = np.linspace(-1, 1, rows, dtype=np.float32)[:, None]
    noise = np.random.default_rng(seed).uniform(0, 1, (rows, 1)).astype(np.float32)
    return x, x**2 + 0.2 * noise


def torch_like_init(problem: Problem, seed: int = 0) -> Params:
    """Weights and biases drawn as ``nn.Linear`` draws them (not the same numbers), in NumPy."""
    rng = np.random.default_rng(seed)
    params = []
    widths = problem.widths()
    for n_in, n_out in itertools.pairwise(widths):
        bound = 1 / n_in**0.5
        weight = rng.uniform(-bound, bound, (problem.members, n_out, n_in)).astype(np.float32)
        bias = rng.uniform(-bound, bound, (problem.members, n_out)).astype(np.float32)
        params.append((weight, bias))
    return params


def make_train(problem: Problem) -> Any:
    """``jit(vmap(train_one))``: (params, x, y) → (trained params, each member's final loss)."""
    import jax
    import jax.numpy as jnp

    activation = {"relu": jax.nn.relu, "tanh": jnp.tanh}[problem.activation]
    beta1, beta2 = ADAM_BETAS

    def loss(params: Params, x: Any, y: Any) -> Any:
        h = x  # (rows, width)
        for i, (weight, bias) in enumerate(params):
            h = h @ weight.T + bias
            if i < len(params) - 1:
                h = activation(h)
        return jnp.mean((h - y) ** 2)

    gradient = jax.grad(loss)

    def sgd(params: Params, x: Any, y: Any) -> Params:
        def step(p: Params, _: Any) -> tuple[Params, None]:
            g = gradient(p, x, y)
            return jax.tree.map(lambda w, dw: w - problem.lr * dw, p, g), None

        return jax.lax.scan(step, params, None, length=problem.steps)[0]

    def adam(params: Params, x: Any, y: Any) -> Params:
        def step(carry: Any, t: Any) -> tuple[Any, None]:
            p, m, v = carry
            g = gradient(p, x, y)
            m = jax.tree.map(lambda m, g: beta1 * m + (1 - beta1) * g, m, g)
            v = jax.tree.map(lambda v, g: beta2 * v + (1 - beta2) * g * g, v, g)
            size = problem.lr / (1 - beta1**t)  # torch's bias corrections
            root = jnp.sqrt(1 - beta2**t)

            def update(w: Any, m: Any, v: Any) -> Any:
                return w - size * m / (jnp.sqrt(v) / root + ADAM_EPS)

            return (jax.tree.map(update, p, m, v), m, v), None

        zeros = jax.tree.map(jnp.zeros_like, params)
        steps = jnp.arange(1, problem.steps + 1, dtype=jnp.float32)
        return jax.lax.scan(step, (params, zeros, zeros), steps)[0][0]

    optimise = {"sgd": sgd, "adam": adam}[problem.optimizer]

    def train_one(params: Params, x: Any, y: Any) -> tuple[Params, Any]:
        trained = optimise(params, x, y)
        return trained, loss(trained, x, y)

    return jax.jit(jax.vmap(train_one, in_axes=(0, None, None)))


def compile_train(problem: Problem, params: Params, x: Any, y: Any) -> tuple[Any, float]:
    """The compiled trainer for these shapes, and the seconds compiling took."""
    start = time.perf_counter()
    compiled = make_train(problem).lower(params, x, y).compile()
    return compiled, time.perf_counter() - start


def run(compiled: Any, params: Params, x: Any, y: Any) -> tuple[Params, np.ndarray]:
    """Train to the end (blocking until the results exist); returns params and final losses."""
    import jax

    trained, losses = jax.block_until_ready(compiled(params, x, y))
    return trained, np.asarray(losses)


def end_to_end(members: int) -> None:
    """What a fresh process does to train M lesson models: import, build, compile, run."""
    problem = Problem("lesson", members)
    x, y = lesson_data()
    params = torch_like_init(problem)
    compiled, _ = compile_train(problem, params, x, y)
    run(compiled, params, x, y)
