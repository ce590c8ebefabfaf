"""Morvan Zhou's PyTorch lesson 301 "Regression" (关系拟合), retold with nnfit.

The lesson: 100 points of y = x² + noise, a net Linear(1, 10) → ReLU → Linear(10, 1),
SGD with lr 0.5, MSE, 100 full-batch steps, and a picture every 5 steps.
Run it:  python examples/301_regression.py [fit.gif]   (again: the GIF is replaced)
"""

import sys

import nnfit

x, y = nnfit.make_data(function="quadratic", points=100, noise="uniform", noise_level=0.2)
model = nnfit.MLP(n_in=1, hidden=10, n_out=1, activation="relu", seed=0)
print(model)

config = nnfit.TrainConfig(optimizer="sgd", lr=0.5, loss="mse", steps=100, every=5)
history = nnfit.train(model, (x, y), config)

print(f"final loss: {history.final.loss:.4f}")
print(nnfit.diagnose(history).message)
nnfit.animate(history, sys.argv[1] if len(sys.argv) > 1 else "301_regression.gif", overwrite=True)
