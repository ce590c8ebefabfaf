"""Everything training carries from one step to the next, so a run can stop and resume exactly.

``TrainState`` holds the weights, the optimiser's and schedule's state, the minibatch order and
random state, early stopping's best weights and the snapshots so far. ``flatten`` turns it into
tensors (for safetensors) plus plain JSON, never pickles; ``unflatten`` reverses it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..core.history import Snapshot
from ..core.model import MLP
from ..core.train_config import AUTO_BATCH as AUTO_BATCH  # (torch-free there: sizes are
from ..core.train_config import AUTO_SIZE as AUTO_SIZE  # checked before torch loads)
from ..core.train_config import rows_per_step
from ..io.safe_read import quote


class Batches:
    """Endless (x, y, weights) batches: the whole set, or shuffled slices of it epoch after epoch.

    ``weights`` (members, n), an ensemble's row weights, is sliced with the rows (else None).
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int | None,
        seed: int,
        *,
        weights: torch.Tensor | None = None,
    ) -> None:
        n = x.shape[0]
        size = rows_per_step(n, batch_size)
        self.x, self.y, self.weights = x, y, weights
        self.size = None if size >= n else size
        self.full = self.size is None  # every batch is the whole set
        self.generator = torch.Generator().manual_seed(seed)
        self.order: torch.Tensor | None = None  # this epoch's shuffled row order
        self.position = 0  # next slice start within order

    def next(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The next batch: (batch, n_in), (batch, n_out) and weights (members, batch) or None."""
        if self.size is None:
            return self.x, self.y, self.weights
        n = self.x.shape[0]
        if self.order is None or self.position + self.size > n:
            self.order = torch.randperm(n, generator=self.generator).to(self.x.device)
            self.position = 0
        index = self.order[self.position : self.position + self.size]
        self.position += self.size
        weights = None if self.weights is None else self.weights[:, index]
        return self.x[index], self.y[index], weights

    def state(self) -> dict[str, Any]:
        return {
            "generator": self.generator.get_state(),
            "order": self.order,
            "position": self.position,
        }

    def load(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        order = state["order"]
        self.order = None if order is None else order.to(self.x.device)
        self.position = int(state["position"])


class Keeper:
    """A copy of the parameters, to fall back on when the loss stops being finite.

    An ensemble trained by the batched engine falls back member by member: a member whose loss
    stops being finite gets its kept weights back and is ``frozen`` (no more updates) while the
    others train on; ``frozen`` maps each such member to the step it diverged at.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        self.params = [p.detach() for p in model.parameters()]  # views of the live weights
        self.copy = [p.clone() for p in self.params]
        self.step: int | None = None
        self.frozen: dict[int, int] = {}

    def keep(self, step: int) -> None:
        """Copy the current weights (one fused copy: this runs every step)."""
        torch._foreach_copy_(self.copy, self.params)
        self.step = step

    def restore(self) -> None:
        torch._foreach_copy_(self.params, self.copy)

    def freeze(self, members: list[int], step: int) -> None:
        """Put back the kept weights of ``members`` (the leading dimension) and mark them frozen
        from ``step`` on."""
        index = torch.tensor(members, device=self.params[0].device)
        for param, kept in zip(self.params, self.copy, strict=True):
            param[index] = kept[index]
        self.frozen.update(dict.fromkeys(members, step))

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"copy": list(self.copy), "step": self.step}
        if self.frozen:
            state["frozen"] = [[k, step] for k, step in sorted(self.frozen.items())]
        return state

    def load(self, state: dict[str, Any]) -> None:
        torch._foreach_copy_(
            self.copy, [t.to(c.device) for t, c in zip(state["copy"], self.copy, strict=True)]
        )
        self.step = state["step"]
        self.frozen = {int(k): int(step) for k, step in state.get("frozen", [])}


class Best:
    """Early stopping: remember the weights to restore when training ends.

    ``rule`` "lowest" keeps the weights with the lowest validation loss. "1se" keeps the
    earliest weights whose validation loss is within one standard error of the lowest (the
    one-standard-error rule of CART and glmnet): on noisy data the lowest loss is partly luck,
    and an earlier, smoother fit that is statistically as good can predict new data better
    (measured: better on the noisiest benchmark set, worse on most others; bench/README.md).
    For it, every new lowest loss is kept with its weights, and those more than one standard
    error above the current lowest are forgotten. ``patience`` counts from the lowest loss.
    """

    def __init__(self, model: MLP, patience: int, rule: str = "lowest") -> None:
        self.model, self.patience, self.rule = model, patience, rule
        self.loss = math.inf
        self.step: int | None = None  # the step of the kept weights
        self.weights: dict[str, torch.Tensor] | None = None
        self.earlier: list[dict[str, Any]] = []  # "1se": earlier lowest losses within reach

    def should_stop(self, snapshot: Snapshot) -> bool:
        """Record an improvement; True once ``patience`` steps passed without one."""
        if snapshot.val_loss is not None and snapshot.val_loss < self.loss:
            if self.rule == "1se" and self.weights is not None:
                self.earlier.append({"step": self.step, "loss": self.loss, "weights": self.weights})
            self.loss, self.step = snapshot.val_loss, snapshot.step
            self.weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            within = self.loss + (snapshot.val_se or 0.0)
            self.earlier = [e for e in self.earlier if e["loss"] <= within]
        return self.step is not None and snapshot.step - self.step >= self.patience

    def restore(self) -> int | None:
        """Load the kept weights into the model; returns their step (None: nothing kept)."""
        kept = {"step": self.step, "weights": self.weights}
        chosen: dict[str, Any] = self.earlier[0] if self.earlier else kept
        if chosen["weights"] is not None:
            self.model.load_state_dict(chosen["weights"])
        return chosen["step"]

    def state(self) -> dict[str, Any]:
        return {
            "loss": None if math.isinf(self.loss) else self.loss,
            "step": self.step,
            "weights": self.weights,
            "earlier": self.earlier,
        }

    def load(self, state: dict[str, Any]) -> None:
        self.loss = math.inf if state["loss"] is None else float(state["loss"])
        self.step, self.weights = state["step"], state["weights"]
        self.earlier = list(state.get("earlier", []))


class MemberBest:
    """Early stopping member by member, for members that are separate runs (a sweep's).

    Each member keeps the weights of its own lowest held-out loss (``Snapshot.member_val_loss``)
    and is frozen (``freeze``: its weights stop changing) once ``patience`` steps passed without
    a lower one: exactly where a single run of it would have stopped. Members that diverged
    (the ``keeper``'s ``frozen``) are left alone. Training ends once every member is
    stopped or diverged; ``restore`` gives each member its kept weights. With ``patience`` None
    no member stops and nothing is restored, as for a single run without early stopping.
    """

    def __init__(
        self,
        model: MLP,
        patience: int | None,
        freeze: Callable[[list[int]], None],
        keeper: Keeper,
    ) -> None:
        self.patience, self.freeze, self.keeper = patience, freeze, keeper
        self.members = model.members
        self.params = [p.detach() for p in model.parameters()]  # (members, ...) views
        self.weights = [p.clone() for p in self.params] if patience else []
        self.loss = torch.full((self.members,), math.inf, dtype=torch.float64)
        self.steps = torch.full((self.members,), -1, dtype=torch.int64)  # -1: none kept
        self.stopped: dict[int, int] = {}  # member → the step its patience ran out

    def should_stop(self, snapshot: Snapshot) -> bool:
        """Record each member's improvement, freeze those whose patience ran out; True once
        every member is stopped or diverged."""
        done = self.stopped.keys() | self.keeper.frozen.keys()
        if self.patience and snapshot.member_val_loss is not None:
            active = torch.ones(self.members, dtype=torch.bool)
            active[list(done)] = False
            losses = torch.tensor(snapshot.member_val_loss, dtype=torch.float64)
            better = active & (losses < self.loss)  # (members,); nan is never better
            if better.any():
                index = better.nonzero().flatten().to(self.params[0].device)
                for kept, param in zip(self.weights, self.params, strict=True):
                    kept[index] = param[index]
                self.loss[better], self.steps[better] = losses[better], snapshot.step
            waited = active & (self.steps >= 0) & (snapshot.step - self.steps >= self.patience)
            out = waited.nonzero().flatten().tolist()
            if out:
                self.freeze(out)
                self.stopped.update(dict.fromkeys(out, snapshot.step))
                done = done | set(out)
        return len(done) >= self.members

    def restore(self) -> dict[int, int]:
        """Give every member that kept weights (and did not diverge) those weights back;
        returns each such member's kept step."""
        kept = [
            k for k in range(self.members) if self.steps[k] >= 0 and k not in self.keeper.frozen
        ]
        if kept and self.weights:
            index = torch.tensor(kept, device=self.params[0].device)
            for param, weights in zip(self.params, self.weights, strict=True):
                param[index] = weights[index]
        return {k: int(self.steps[k]) for k in kept}

    def state(self) -> dict[str, Any]:
        return {
            "loss": self.loss.clone(),
            "steps": self.steps.clone(),
            "weights": list(self.weights),
            "stopped": [[k, step] for k, step in sorted(self.stopped.items())],
        }

    def load(self, state: dict[str, Any]) -> None:
        self.loss.copy_(state["loss"])
        self.steps.copy_(state["steps"])
        for kept, saved in zip(self.weights, state["weights"], strict=True):
            kept.copy_(saved)
        self.stopped = {int(k): int(step) for k, step in state["stopped"]}


@dataclass
class TrainState:
    """A run paused between two steps: resuming from it gives the uninterrupted result."""

    step: int  # the next step to run
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    schedule: dict[str, Any] | None
    batches: dict[str, Any]
    keeper: dict[str, Any]
    best: dict[str, Any] | None
    snapshots: list[Snapshot] = field(default_factory=list)  # recorded so far, none final


@dataclass(frozen=True)
class Control:
    """What reaches a training run from outside it: a stop signal, resume and checkpoints.

    Args:
        stop: an event that, once set, ends training before the next step (Ctrl-C handlers).
        resume: a state saved by ``checkpoint``; training continues exactly where it paused.
        checkpoint: called with the TrainState every ``checkpoint_every`` steps and when
            ``stop`` ends training, so the run can be saved and resumed.
        checkpoint_every: steps between checkpoints (None: only when stopped).

    Example:
        >>> stop = threading.Event()
        >>> history = train(model, (x, y), config, control=Control(stop=stop))  # doctest: +SKIP
    """

    stop: threading.Event | None = None
    resume: TrainState | None = None
    checkpoint: Callable[[TrainState], None] | None = None
    checkpoint_every: int | None = None

    @property
    def stopped(self) -> bool:
        """Whether the stop event has been set."""
        return self.stop is not None and self.stop.is_set()

    def due(self, step: int, start: int) -> bool:
        """Whether a checkpoint falls on ``step`` (never on the step training started from)."""
        every = self.checkpoint_every
        if not every:
            return False
        return self.checkpoint is not None and step > start and step % every == 0


def flatten(tree: Any, prefix: str = "") -> tuple[Any, dict[str, torch.Tensor]]:
    """Split nested dicts/lists into JSON (tensors replaced by {"tensor": key}) and tensors."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, torch.Tensor):
            # a copy of its own: the batched engine's state shares buffers (safetensors refuses)
            tensors[path] = node.detach().cpu().clone(memory_format=torch.contiguous_format)
            return {"tensor": path}
        if isinstance(node, dict):
            return {"dict": [[_key(k), walk(v, f"{path}.{k}")] for k, v in node.items()]}
        if isinstance(node, (list, tuple)):
            return {"list": [walk(v, f"{path}.{i}") for i, v in enumerate(node)]}
        if node is None or isinstance(node, (bool, int, str)):
            return node
        if isinstance(node, float):
            return {"float": repr(node)}  # exact, and inf/nan survive JSON
        raise TypeError(f"cannot store {type(node).__name__} in a checkpoint")

    return walk(tree, prefix), tensors


MAX_DEPTH = 64  # nesting a checkpoint may have (a real one has about 6 levels)


def unflatten(data: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of ``flatten``; ValueError on anything ``flatten`` does not write (unknown
    entries, tensors not in ``tensors``, text that is not a number, nesting past MAX_DEPTH)."""

    def build(node: Any, depth: int) -> Any:
        if node is None or isinstance(node, (bool, int, str)):
            return node
        if depth >= MAX_DEPTH:
            raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
        if not isinstance(node, dict) or len(node) != 1:
            raise ValueError(f"unexpected entry {quote(node)}")
        ((kind, value),) = node.items()
        if kind == "tensor":
            if not isinstance(value, str) or value not in tensors:
                raise ValueError(f"tensor {quote(value)} is not in the tensors file")
            return tensors[value]
        if kind == "float" and isinstance(value, str):
            return float(value)  # ValueError for text that is not a number
        if kind == "list" and isinstance(value, list):
            return [build(item, depth + 1) for item in value]
        if kind == "dict" and isinstance(value, list):
            if not all(isinstance(pair, list) and len(pair) == 2 for pair in value):
                raise ValueError("a table's entries must be [key, value] pairs")
            return {_unkey(key): build(item, depth + 1) for key, item in value}
        raise ValueError(f"unexpected entry {quote(node)}")

    return build(data, 0)


def _key(key: Any) -> list[Any]:
    """Dict keys keep their type (optimizer state is keyed by int)."""
    return ["int", key] if isinstance(key, int) else ["str", str(key)]


def _unkey(key: Any) -> Any:
    """Inverse of ``_key``: ["int", 3] or ["str", "lr"]."""
    if isinstance(key, list) and len(key) == 2:
        kind, value = key
        if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == "str" and isinstance(value, str):
            return value
    raise ValueError(f'a table key must be ["int", n] or ["str", text], got {quote(key)}')
