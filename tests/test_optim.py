"""The optimisers' own constants (momentum, rmsprop_alpha, beta1, beta2): settings that reach
torch's optimisers, and training with them equals a plain torch loop with the same constants."""

import pytest
import torch

from nnfit.core.model import MLP
from nnfit.core.optim import make_optimizer
from nnfit.core.training import TrainConfig, train
from nnfit.errors import UsageError
from nnfit.settings import table

CONSTANTS = {"momentum": 0.8, "rmsprop_alpha": 0.9, "beta1": 0.8, "beta2": 0.99}
TORCH = {  # what torch calls them, for each optimiser
    "momentum": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.8),
    "nesterov": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.8, nesterov=True),
    "rmsprop": lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9),
    "adam": lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99)),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, betas=(0.8, 0.99)),
}


def test_the_constants_are_training_settings_with_ranges():
    rows = {row.name: row for row in table()}
    for name in CONSTANTS:
        assert rows[name].section == "train"
        assert rows[name].flag == "--" + name.replace("_", "-")
        with pytest.raises(UsageError, match=f"^{name} must be"):
            TrainConfig(**{name: 1.0})


@pytest.mark.parametrize("name", sorted(TORCH))
def test_make_optimizer_passes_the_constants_to_torch(name):
    params = [torch.nn.Parameter(torch.zeros(3))]
    ours = make_optimizer(
        name, params, 0.01, momentum=0.8, rmsprop_alpha=0.9, betas=(0.8, 0.99)
    ).param_groups[0]
    theirs = TORCH[name]([torch.nn.Parameter(torch.zeros(3))]).param_groups[0]
    assert {k: v for k, v in ours.items() if k != "params"} == {
        k: v for k, v in theirs.items() if k != "params"
    }


@pytest.mark.parametrize("name", ["momentum", "rmsprop", "adam"])
def test_training_with_the_constants_equals_torchs_loop(name):
    x = torch.linspace(-1, 1, 40).unsqueeze(1)
    y = x**2
    model, reference = MLP(1, 8, 1, seed=3), MLP(1, 8, 1, seed=3)
    config = TrainConfig(optimizer=name, lr=0.01, steps=20, every=5, **CONSTANTS)
    train(model, (x, y), config)
    optimizer = TORCH[name](reference.parameters())
    for _ in range(20):
        loss = torch.nn.functional.mse_loss(reference(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for mine, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(mine, theirs)
