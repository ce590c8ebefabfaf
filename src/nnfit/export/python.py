"""Export a trained MLP as a standalone Python file whose ``predict(x)`` needs only NumPy."""

from __future__ import annotations

import ast
import keyword
from pathlib import Path

import numpy as np
import torch

from .._version import __version__
from ..checks import typed
from ..core.model import MLP
from ..errors import NNFitError
from ..io.files import write_atomic
from .onnx import check_exportable

__all__ = ["docstring_text", "export_python", "python_source"]

# NumPy source of each activation, matching torch.nn's defaults (see model.ACTIVATIONS)
ACTIVATION_SOURCE = {
    "relu": "return np.maximum(z, 0.0)",
    "tanh": "return np.tanh(z)",
    "sigmoid": "return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), never overflows",
    "leaky_relu": "return np.where(z > 0, z, 0.01 * z)",
    "elu": "return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))",
    "gelu": "return 0.5 * z * (1.0 + _erf(z / math.sqrt(2.0)))  # exact form, not tanh",
    "silu": "return z * 0.5 * (1.0 + np.tanh(0.5 * z))  # z * sigmoid(z)",
    "softplus": "return np.where(z > 20.0, z, np.log1p(np.exp(np.minimum(z, 20.0))))",
}

# The module docstring: the one place where given names (the file's) reach the generated code.
DOCSTRING = """\
A {architecture} {activation} network exported by nnfit {version}; needs only NumPy.

Layers: {layers}, {activation_note}. The training
data's scaler is built in: predict() takes and returns the original units.

    from {module} import predict{import_note}
    predict(x)  # x of shape (n, {n_in}) gives (n, {n_out})
{shape_note}
Run as a script, `python {filename} {argv_example}` prints the prediction for each point
({per_point} per point) on one line.
"""

TEMPLATE = '''\
"""{docstring}"""

import math
import sys

import numpy as np

N_IN = {n_in}
N_OUT = {n_out}
ACTIVATION = {activation!r}  # one for every hidden layer, or one per layer

# The weights are the model's float32 values written exactly as float64 literals.
X_MEAN = np.array({x_mean!r})
X_SCALE = np.array({x_scale!r})
Y_MEAN = np.array({y_mean!r})
Y_SCALE = np.array({y_scale!r})
Y_LOG = {y_log!r}  # True: the networks predict log(y), and predict() returns exp of it
# Each member network as (weight (n_from, n_to), bias (n_to,)) of each linear layer, input
# side first; the prediction is the members' average ({members} member(s)).
MEMBERS = [
{member_literals}]

_erf = np.vectorize(math.erf, otypes=[np.float64])
{activation_functions}

# each hidden layer's activation, input side first
ACTIVATIONS = [{layer_activations}]


def predict(x):
    """Predict y for x of shape (n, N_IN); see the module docstring for 1-D x."""
    x = np.asarray(x, dtype=np.float64)
    one_point = x.ndim == 1 and N_IN > 1  # (N_IN,): a single point
    one_column = x.ndim == 1 and N_IN == 1  # (n,): n values of the only input
    if x.ndim == 1:
        x = x.reshape(1, -1) if one_point else x.reshape(-1, 1)
    if x.ndim != 2 or x.shape[1] != N_IN:
        raise ValueError(f"x must have shape (n, {{N_IN}}), got {{np.shape(x)}}")
    t = (x - X_MEAN) / X_SCALE  # (n, N_IN), standardised
    total = 0.0
    for layers in MEMBERS:
        h = t
        for i, (weight, bias) in enumerate(layers):
            h = h @ weight + bias
            if i < len(layers) - 1:
                h = ACTIVATIONS[i](h)
        total = total + h
    y = total / len(MEMBERS) * Y_SCALE + Y_MEAN  # (n, N_OUT), original units
    if Y_LOG:
        y = np.exp(y)
    if one_point:
        return y[0]
    if one_column and N_OUT == 1:
        return y[:, 0]
    return y


def main(argv):
    """Print predictions for the numbers on the command line."""
    try:
        numbers = [float(arg) for arg in argv]
    except ValueError as error:
        print(f"not a number: {{error}}", file=sys.stderr)
        return 2
    if not numbers or len(numbers) % N_IN:
        usage = f"usage: python {{sys.argv[0]}} X [X ...]  ({{N_IN}} numbers per point)"
        print(usage, file=sys.stderr)
        return 2
    for row in predict(np.reshape(numbers, (-1, N_IN))):
        print(" ".join(f"{{value:.10g}}" for value in row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


def export_python(model: MLP, path: str | Path, *, overwrite: bool = True) -> Path:
    """Write ``model`` as a standalone Python file whose ``predict(x)`` needs only NumPy.

    The file inlines the weights and scaler as exact literals and computes in float64, so it
    agrees with ``model(x)`` to float32 rounding. ``predict`` takes x of shape (n, n_in) and
    returns (n, n_out). With one input column, x of shape (n,) means n points and gives (n,)
    when there is one output, (n, n_out) otherwise; with several inputs, x of shape (n_in,) is
    one point and gives (n_out,). Run as ``python model.py 0.5 1.5`` it prints predictions.
    An existing file at ``path`` is replaced; the file appears only once complete.

    Args:
        model: the network to export; it is not changed.
        path: where to write the ``.py`` file.
        overwrite: replace an existing regular file at ``path``; False creates the file
            exclusively (``nnfit.io.files.OutputTaken`` if it exists). Never through a symlink.

    Returns:
        ``path`` as a Path.

    Raises:
        UsageError: the model holds non-finite values (NaN weights after diverged training).

    Example:
        >>> model = MLP(1, 10, 1, seed=0)
        >>> export_python(model, "model.py")  # doctest: +SKIP
        PosixPath('model.py')
        >>> from model import predict  # doctest: +SKIP
        >>> predict([0.5, 1.5]).shape  # doctest: +SKIP
        (2,)
    """
    check_exportable(model)
    path = Path(path)
    source = python_source(model, module=path.stem, filename=path.name)
    write_atomic(path, source.encode(), overwrite=overwrite)
    return path


def python_source(model: MLP, *, module: str = "model", filename: str = "model.py") -> str:
    """The text of the standalone Python file for ``model``.

    ``module`` and ``filename`` only appear in the docstring, escaped (``docstring_text``), so
    no name can end the docstring and run as code; the result is parsed to make sure the
    docstring reads exactly as intended. A ``module`` that cannot be imported by name (not an
    identifier) is shown as ``model``, with a note to save the file as model.py.
    """
    widths = (model.n_in, *model.hidden, model.n_out)
    members = []
    for k in range(model.members):
        literals = "".join(_layer_literal(w, b) for w, b in model.member_layers(k))
        members.append(f"    [\n{literals}    ],\n")
    if model.n_in == 1:
        out = "(n,)" if model.n_out == 1 else f"(n, {model.n_out})"
        shape_note = f"    predict(x)  # x of shape (n,): n values of the one input, gives {out}\n"
    else:
        shape_note = (
            f"    predict(x)  # x of shape ({model.n_in},): one point, gives ({model.n_out},)\n"
        )
    importable = module.isidentifier() and not keyword.iskeyword(module)
    names = {
        "architecture": "-".join(str(n) for n in widths)
        + ("" if model.members == 1 else f" x{model.members} ensemble"),
        "version": __version__,
        "layers": " -> ".join(
            [_count(model.n_in, "input"), *map(str, model.hidden), _count(model.n_out, "output")]
        ),
        "activation": typed(model.activation),
        "activation_note": _activation_note(model.activations),
        "module": module if importable else "model",
        "import_note": "" if importable else "  # saved as model.py",
        "filename": filename,
        "n_in": model.n_in,
        "n_out": model.n_out,
        "per_point": _count(model.n_in, "number"),
        "shape_note": shape_note,
        "argv_example": " ".join(["0.5"] * model.n_in),
    }
    intended = DOCSTRING.format(**names)
    given = ("module", "filename", "activation")  # text from outside nnfit: escaped
    docstring = DOCSTRING.format(**{**names, **{k: docstring_text(names[k]) for k in given}})
    source = TEMPLATE.format(
        docstring=docstring,
        members=model.members,
        activation=model.activation,
        activation_functions="".join(
            ACTIVATION_FUNCTION.format(name=name, source=ACTIVATION_SOURCE[name])
            for name in dict.fromkeys(model.activations)
        ),
        layer_activations=", ".join(model.activations),
        n_in=model.n_in,
        n_out=model.n_out,
        x_mean=_floats(model.x_mean),
        x_scale=_floats(model.x_scale),
        y_mean=_floats(model.y_mean),
        y_scale=_floats(model.y_scale),
        y_log=model.y_transform == "log",
        member_literals="".join(members),
    )
    _check_docstring(source, intended)
    return source


ACTIVATION_FUNCTION = '''

def {name}(z):
    """{name}, as in torch.nn."""
    {source}
'''


def _activation_note(names: tuple[str, ...]) -> str:
    """``relu after each hidden layer`` or ``relu, tanh after the hidden layers in turn``."""
    if len(set(names)) == 1:
        return f"{names[0]} after each hidden layer"
    return f"{', '.join(names)} after the hidden layers in turn"


def docstring_text(value: object) -> str:
    """``value`` as text that reads back as itself inside a triple-quoted docstring.

    Backslashes and quotes are escaped (no name can end the docstring and go on as code), and
    anything but printable ASCII is written as an escape, as ``ascii()`` does: a newline as
    ``\\n``, ``é`` as ``\\xe9``.
    """
    out = []
    for char in str(value):
        if char in "\\\"'":
            out.append("\\" + char)
        elif char.isascii() and char.isprintable():
            out.append(char)
        else:
            out.append(ascii(char)[1:-1])
    return "".join(out)


def _check_docstring(source: str, intended: str) -> None:
    """Defence in depth: the module's opening, up to its first import, is nothing but the
    docstring meant, so nothing given (a file name) has become code. (Only the opening is
    parsed: the weights after it can be megabytes of literals that nnfit wrote itself.)"""
    head = source.partition("\nimport math\n")[0]
    try:
        tree = ast.parse(head)
    except SyntaxError as error:
        raise NNFitError(f"the generated Python module does not parse: {error.msg}") from None
    if len(tree.body) != 1 or ast.get_docstring(tree, clean=False) != intended:
        raise NNFitError("the generated Python module's docstring is not the one intended")


def _count(n: int, noun: str) -> str:
    """``1 input``, ``2 inputs``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _floats(tensor: torch.Tensor) -> list:
    """Tensor → nested lists of Python floats equal to its float32 values (repr is exact)."""
    return tensor.detach().cpu().double().numpy().tolist()


def _layer_literal(weight: torch.Tensor, bias: torch.Tensor) -> str:
    """One layer of a member: the weight (n_to, n_from) transposed, one row per line."""
    rows = "".join(f"                {row.tolist()!r},\n" for row in np.asarray(_floats(weight)).T)
    return (
        f"        (\n            np.array([\n{rows}            ]),\n"
        f"            np.array({_floats(bias)!r}),\n        ),\n"
    )
