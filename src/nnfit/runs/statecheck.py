"""Checking a paused run's state (state.json + state.safetensors) before it is resumed.

Each check raises ValueError naming the entry; ``runfolder.load_state`` makes it one line.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from ..io.safe_read import quote
from ..runs.runcheck import MAX_COUNT, Shape, is_int, is_number, tensor_problem

STATE_KEYS = frozenset({"step", "model", "optimizer", "schedule", "batches", "keeper", "best"})
LBFGS_KEYS = frozenset(  # what torch's L-BFGS keeps between steps
    {"func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag"}
    | {"prev_flat_grad", "prev_loss", "al"}
)


def check_state(tree: Any, shape: Shape) -> None:
    """Raise ValueError unless ``tree`` is a paused run of this model.

    The optimizer's and schedule's states must be what torch's own (one of OPTIMIZERS, the
    cosine schedule) would hold, so that resuming cannot fail halfway through a step.
    """
    if not isinstance(tree, dict) or set(tree) != STATE_KEYS:
        raise ValueError(f"the state must hold exactly {', '.join(sorted(STATE_KEYS))}")
    shapes = shape.tensors()
    params = [s for name, s in shapes.items() if name.startswith("layers.")]
    _count(tree["step"], "step")
    _check_model(tree["model"], shapes, "model")
    _check_optimizer(tree["optimizer"], params)
    _check_schedule(tree["schedule"])
    _check_batches(tree["batches"])
    keeper = tree["keeper"]
    if (
        not isinstance(keeper, dict)
        or not {"copy", "step"} <= set(keeper) <= {"copy", "step", "frozen"}
        or not isinstance(keeper["copy"], list)
        or len(keeper["copy"]) != len(params)
    ):
        raise ValueError("keeper must hold a copy of each parameter and a step")
    for tensor, want in zip(keeper["copy"], params):
        _tensor(tensor, want, "keeper.copy")
    _count(keeper["step"], "keeper.step", none=True)
    _check_frozen(keeper.get("frozen", []), shape.members)
    best = tree["best"]
    if best is None:
        return
    if not isinstance(best, dict) or set(best) != {"loss", "step", "weights", "earlier"}:
        raise ValueError("best must hold loss, step, weights and earlier")
    if not isinstance(best["earlier"], list):
        raise ValueError("best.earlier must be a list")
    for kept in [best, *best["earlier"]]:
        if not isinstance(kept, dict) or not {"loss", "step", "weights"} <= set(kept):
            raise ValueError("best.earlier must hold loss, step and weights")
        if kept["loss"] is not None and not is_number(kept["loss"]):
            raise ValueError(f"best.loss must be a number, got {quote(kept['loss'])}")
        _count(kept["step"], "best.step", none=True)
        if kept["weights"] is not None:
            _check_model(kept["weights"], shapes, "best.weights")


def _check_frozen(frozen: Any, members: int) -> None:
    """keeper.frozen: [member, step] pairs, each member of the ensemble at most once, and never
    every member (the run then diverged as a whole)."""
    if not isinstance(frozen, list):
        raise ValueError("keeper.frozen must be a list of [member, step] pairs")
    if frozen and len(frozen) >= members:
        raise ValueError(f"keeper.frozen must leave a member of {members} training")
    seen = set()
    for pair in frozen:
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError("keeper.frozen must be a list of [member, step] pairs")
        _count(pair[0], "keeper.frozen member", high=members - 1)
        _count(pair[1], "keeper.frozen step")
        if pair[0] in seen:
            raise ValueError(f"keeper.frozen lists member {pair[0]} twice")
        seen.add(pair[0])


def _count(value: Any, name: str, *, high: int = MAX_COUNT, none: bool = False) -> None:
    if not (none and value is None) and (not is_int(value) or not 0 <= value <= high):
        raise ValueError(f"{name} must be a whole number from 0 to {high}, got {quote(value)}")


def _tensor(value: Any, shape: tuple[int, ...], name: str, dtype: Any = None) -> None:
    import torch

    dtype = dtype or torch.float32
    if not isinstance(value, torch.Tensor) or value.dtype != dtype or tuple(value.shape) != shape:
        got = quote(value)
        if isinstance(value, torch.Tensor):
            got = f"{value.dtype} of shape {tuple(value.shape)}"
        raise ValueError(f"{name} must be a {dtype} tensor of shape {shape}, got {got}")


def _check_model(tensors: Any, shapes: dict[str, tuple[int, ...]], name: str) -> None:
    problem = tensor_problem(tensors, shapes)
    if problem:
        raise ValueError(f"{name}: {problem}")


@functools.cache
def _reference(optimizer: str, schedule: str = "constant") -> dict[str, Any]:
    """The state_dict of torch's ``optimizer`` (or, with ``schedule``, of that schedule) after
    one step on a (2, 3) parameter: the keys and kinds of value a saved one must have."""
    import torch

    from ..core.optim import make_optimizer, make_schedule

    weight = torch.nn.Parameter(torch.zeros(2, 3))
    torch_optimizer = make_optimizer(optimizer, [weight], 0.1)
    torch_schedule = make_schedule(schedule, torch_optimizer, 100)

    def closure() -> torch.Tensor:
        torch_optimizer.zero_grad()
        loss = (weight - 1).pow(2).sum()
        loss.backward()
        return loss

    torch_optimizer.step(closure)  # type: ignore[arg-type]  # torch hints float, takes a Tensor
    if torch_schedule is None:
        return torch_optimizer.state_dict()
    torch_schedule.step()
    return torch_schedule.state_dict()


def _same_kind(value: Any, reference: Any) -> bool:
    """``value`` is what torch would store where it stored ``reference``."""
    if isinstance(reference, bool) or reference is None or isinstance(reference, str):
        return type(value) is type(reference)
    if isinstance(reference, int):
        return is_int(value)
    if isinstance(reference, float):
        return is_number(value) and math.isfinite(value)
    if isinstance(reference, (list, tuple)):
        return (
            isinstance(value, list)
            and len(value) == len(reference)
            and all(map(_same_kind, value, reference))
        )
    return False


def _check_optimizer(optimizer: Any, params: list[tuple[int, ...]]) -> None:
    """The state of one of nnfit's optimizers (whichever: run.json's settings need not say)."""
    from ..core.train_config import OPTIMIZERS

    if not isinstance(optimizer, dict) or set(optimizer) != {"state", "param_groups"}:
        raise ValueError("optimizer must hold state and param_groups")
    groups = optimizer["param_groups"]
    if not isinstance(groups, list) or len(groups) != 1 or not isinstance(groups[0], dict):
        raise ValueError("optimizer.param_groups must be one table")
    group = groups[0]
    if group.get("params") != list(range(len(params))):
        raise ValueError("optimizer.param_groups must list each of the model's parameters")
    state = optimizer["state"]
    if not isinstance(state, dict) or not all(
        is_int(k) and 0 <= k < len(params) and isinstance(v, dict) for k, v in state.items()
    ):
        raise ValueError("optimizer.state must be a table of each parameter's state")
    problem = "optimizer.param_groups are not those of any of " + ", ".join(OPTIMIZERS)
    for name in OPTIMIZERS:
        reference = _reference(name)
        settings = reference["param_groups"][0]
        keys, known = set(group) - {"params"}, set(settings) - {"params"}
        if not known <= keys <= known | {"initial_lr"}:
            continue
        try:
            for key in keys:
                if not _same_kind(group[key], settings.get(key, 0.0)):
                    raise ValueError(f"optimizer.param_groups: {key} is {quote(group[key])}")
            for k, entry in state.items():
                _check_param_state(entry, k, name, reference, params)
        except ValueError as error:
            problem = str(error)
            continue
        return
    raise ValueError(problem)


def _check_param_state(
    entry: dict[str, Any],
    k: int,
    name: str,
    reference: dict[str, Any],
    params: list[tuple[int, ...]],
) -> None:
    """One parameter's optimizer state: the keys torch's ``name`` keeps, of the right shapes."""
    if name == "lbfgs":
        _check_lbfgs(entry, k, sum(math.prod(s) for s in params))
        return
    expected = reference["state"].get(0, {})
    if set(entry) != set(expected):
        raise ValueError(f"optimizer.state[{k}] must hold {', '.join(sorted(expected))}")
    for key, value in entry.items():
        known = expected[key]
        if hasattr(known, "dim"):  # a tensor: a scalar (a step count) or one like the parameter
            want = () if known.dim() == 0 else params[k]
            _tensor(value, want, f"optimizer.state[{k}].{key}", known.dtype)
        elif not _same_kind(value, known):
            raise ValueError(f"optimizer.state[{k}].{key} is {quote(value)}")


def _check_lbfgs(entry: dict[str, Any], k: int, total: int) -> None:
    """L-BFGS keeps one state for all parameters: flat (total,) vectors and a short history."""
    import torch

    if k != 0 or not {"func_evals", "n_iter"} <= set(entry) <= LBFGS_KEYS:
        raise ValueError(f"optimizer.state (L-BFGS) must hold {', '.join(sorted(LBFGS_KEYS))}")
    for key, value in entry.items():
        name = f"optimizer.state.{key}"
        if key in ("func_evals", "n_iter"):
            _count(value, name)
        elif key in ("d", "prev_flat_grad"):
            _tensor(value, (total,), name)
        elif key in ("t", "H_diag", "prev_loss"):
            if not is_number(value):
                _tensor(value, (), name)
        else:  # old_dirs, old_stps, ro, al: at most history_size entries
            if not isinstance(value, list) or len(value) > 1000:
                raise ValueError(f"{name} must be a short list")
            for item in value:
                if key in ("old_dirs", "old_stps"):
                    _tensor(item, (total,), name)
                elif not (key == "al" and item is None):
                    _tensor(item, (), name, torch.float32)


def _check_schedule(schedule: Any) -> None:
    """None (a constant learning rate) or the cosine schedule's state."""
    if schedule is None:
        return
    reference = _reference("sgd", "cosine")
    if not isinstance(schedule, dict) or set(schedule) != set(reference):
        raise ValueError(f"schedule must hold {', '.join(sorted(reference))}")
    for key, value in schedule.items():
        if not _same_kind(value, reference[key]):
            raise ValueError(f"schedule: {key} is {quote(value)}")


def _check_batches(batches: Any) -> None:
    """The minibatch order: a random generator's state, a permutation and a position in it."""
    import torch

    if not isinstance(batches, dict) or set(batches) != {"generator", "order", "position"}:
        raise ValueError("batches must hold generator, order and position")
    generator = batches["generator"]
    _tensor(generator, tuple(torch.Generator().get_state().shape), "batches.generator", torch.uint8)
    try:
        torch.Generator().set_state(generator)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError("batches.generator is not a random generator's state") from None
    order, n = batches["order"], 0
    if order is not None:
        if not isinstance(order, torch.Tensor) or order.dtype != torch.int64 or order.dim() != 1:
            raise ValueError("batches.order must be a list of row numbers (int64)")
        n = len(order)
        if not torch.equal(torch.sort(order).values, torch.arange(n)):
            raise ValueError("batches.order must hold each row number once")
    _count(batches["position"], "batches.position", high=n)
