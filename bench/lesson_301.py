"""The lesson's own script (Morvan Zhou, PyTorch tutorial 301_regression.py), made headless.

It is the baseline for the whole-process benchmark: the same job as ``nnfit demo --save``,
done the lesson's way (clear the axes and re-plot every frame), saved with FuncAnimation +
PillowWriter. Usage: python bench/lesson_301.py OUT.gif
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from matplotlib.animation import FuncAnimation, PillowWriter

torch.manual_seed(1)
x = torch.unsqueeze(torch.linspace(-1, 1, 100), dim=1)
y = x.pow(2) + 0.2 * torch.rand(x.size())


class Net(torch.nn.Module):
    def __init__(self, n_feature, n_hidden, n_output):
        super().__init__()
        self.hidden = torch.nn.Linear(n_feature, n_hidden)
        self.predict = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return self.predict(torch.relu(self.hidden(x)))


net = Net(n_feature=1, n_hidden=10, n_output=1)
print(net)
optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
loss_func = torch.nn.MSELoss()
frames = []
for t in range(100):
    prediction = net(x)
    loss = loss_func(prediction, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if t % 5 == 0:
        frames.append((prediction.detach().numpy(), loss.item()))

fig, ax = plt.subplots(figsize=(8, 4), dpi=100)


def draw(frame):
    prediction, loss = frame
    ax.cla()
    ax.scatter(x.numpy(), y.numpy())
    ax.plot(x.numpy(), prediction, "r-", lw=5)
    ax.text(0.5, 0, f"Loss={loss:.4f}", fontdict={"size": 20, "color": "red"})


FuncAnimation(fig, draw, frames=frames).save(sys.argv[1], writer=PillowWriter(fps=10))
