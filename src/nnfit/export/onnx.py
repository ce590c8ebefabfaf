"""Export a trained MLP to ONNX, scaler included, and check it with onnxruntime.

torch, onnx, onnxscript and onnxruntime are heavy, so everything beyond torch is imported inside
``export_onnx``; without them it raises a UsageError with the install hint.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from ..core.model import MLP
from ..errors import NNFitError, UsageError
from ..io.files import atomic_path
from ..io.targets import MARK

__all__ = ["export_onnx"]

ONNX_HINT = "exporting ONNX needs the onnx extra: pip install 'nnfit[onnx]'"
CHECK_BATCH_SIZES = (1, 7, 256)  # 1 and an odd size catch a batch dimension frozen at export
CHECK_TOLERANCE = 1e-5  # relative, and absolute in units of each output's scale (float32)
MAX_ONNX_BYTES = 2**31 - 2**24  # protobuf's 2 GB limit; weights beyond it need external data


def export_onnx(
    model: MLP, path: str | Path, *, check: bool = True, overwrite: bool = True
) -> Path:
    """Write ``model`` as an ONNX graph taking ``x`` (batch, n_in) and giving ``y`` (batch, n_out).

    The graph includes the scaler, so it takes and returns the user's units like ``model(x)``.
    The batch dimension is dynamic. The file appears only once it is complete (and checked):
    an existing file at ``path`` is replaced.

    Args:
        model: the network to export; it is copied, never changed.
        path: where to write the ``.onnx`` file.
        check: run the written file with onnxruntime on random inputs of batch sizes
            1, 7 and 256 and compare it with the PyTorch model.
        overwrite: replace an existing regular file at ``path``; False creates the file
            exclusively (``nnfit.io.files.OutputTaken`` if it exists). Never through a symlink.

    Returns:
        ``path`` as a Path.

    Raises:
        UsageError: onnx, onnxscript or onnxruntime is not installed, or the model is too
            large for one ONNX file or holds non-finite weights.
        NNFitError: the export failed, or onnxruntime disagrees with PyTorch.

    Example:
        >>> model = MLP(1, 10, 1, seed=0)
        >>> export_onnx(model, "model.onnx")  # doctest: +SKIP
        PosixPath('model.onnx')
    """
    try:
        import onnx  # noqa: F401  (torch.onnx's dynamo exporter needs it and onnxscript)
        import onnxscript  # noqa: F401

        if check:
            import onnxruntime  # noqa: F401
    except ImportError as error:
        raise UsageError(ONNX_HINT) from error
    check_exportable(model)
    model = copy.deepcopy(model).to("cpu", torch.float32).eval()
    runnable_in_float64(model)
    n_bytes = sum(p.numel() for p in model.parameters()) * 4
    if n_bytes > MAX_ONNX_BYTES:
        raise UsageError(
            f"the model has {n_bytes / 2**30:.1f} GiB of weights; one ONNX file holds at most 2 GB"
        )
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        _write_onnx(model, tmp)
        if check:
            check_onnx(model, tmp)
    return path


def check_exportable(model: MLP) -> None:
    """Refuse anything but an MLP with finite weights and scaler."""
    if not isinstance(model, MLP):
        raise UsageError(f"can only export an nnfit MLP, got {type(model).__name__}")
    for name, tensor in (*model.named_parameters(), *model.named_buffers()):
        if not torch.isfinite(tensor).all():
            raise UsageError(f"the model's {name} holds NaN or infinite values; retrain it first")


class Softplus64(torch.nn.Module):
    """Softplus written out, ``max(x, 0) + log(1 + exp(-|x|))``: the same values as
    ``nn.Softplus`` (within 2e-9 where torch returns x itself, above 20), in operators that
    onnxruntime runs in float64, where it has no Softplus kernel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, min=0) + torch.log1p(torch.exp(-torch.abs(x)))


def runnable_in_float64(model: MLP) -> None:
    """An ensemble's members are computed in float64 (``MLP.predict_scaled``): give its
    Softplus layers a form onnxruntime can run in float64 (on the export's own copy)."""
    if model.members == 1:
        return
    for i, layer in enumerate(model.layers):
        if isinstance(layer, torch.nn.Softplus):
            model.layers[i] = Softplus64()


def _write_onnx(model: MLP, path: Path) -> None:
    """Export with torch.onnx's dynamo exporter into one self-contained file."""
    x = torch.zeros(4, model.n_in)  # a batch of 4: sizes 0 and 1 would be specialised
    # The dynamo exporter works for every activation in ACTIVATIONS on torch 2.13 (checked by
    # tests/test_export.py), so there is no fallback to the TorchScript exporter.
    try:
        with _quiet():
            program = torch.onnx.export(
                model,
                (x,),
                dynamo=True,
                input_names=["x"],
                output_names=["y"],
                dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
                verbose=False,
            )
            assert program is not None  # dynamo=True always returns the program
            # the mark lets a later --overwrite tell nnfit's file from someone else's
            program.model.doc_string = MARK
            program.save(str(path), external_data=False)  # weights inside, no side file
    except Exception as error:  # the exporter raises many types; name it in one line
        raise NNFitError(f"ONNX export failed: {type(error).__name__}: {error}") from error


def check_onnx(model: MLP, path: Path, *, seed: int = 0) -> None:
    """Raise NNFitError unless onnxruntime on ``path`` matches ``model`` on random batches."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:
        raise NNFitError(f"onnxruntime cannot load the exported model: {error}") from error
    rng = np.random.default_rng(seed)
    x_mean, x_scale = (b.detach().cpu().numpy() for b in (model.x_mean, model.x_scale))
    y_mean, y_scale = (b.detach().cpu().double().numpy() for b in (model.y_mean, model.y_scale))
    atol = CHECK_TOLERANCE * (np.abs(y_mean) + y_scale)  # (n_out,): float32 rounding of y
    for n in CHECK_BATCH_SIZES:
        # inputs within ~3 standard deviations of the data, and some well beyond
        x = (x_mean + x_scale * 3 * rng.standard_normal((n, model.n_in))).astype(np.float32)
        try:
            (y_onnx,) = session.run(["y"], {"x": x})
        except Exception as error:
            raise NNFitError(f"onnxruntime failed on a batch of {n}: {error}") from error
        with torch.no_grad():
            y_torch = model(torch.from_numpy(x)).numpy()
        if y_onnx.shape != y_torch.shape:
            raise NNFitError(
                f"the ONNX model gave shape {y_onnx.shape} for a batch of {n}; "
                f"PyTorch gives {y_torch.shape}"
            )
        gap = np.abs(y_onnx.astype(np.float64) - y_torch)
        allowed = atol + CHECK_TOLERANCE * np.abs(y_torch)
        if not (gap <= allowed).all():
            raise NNFitError(
                f"the ONNX model differs from PyTorch by up to {gap.max():.3g} on a batch of "
                f"{n} (allowed {CHECK_TOLERANCE:g} relative); the file was not written"
            )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Hide the exporter's chatter (optional torchvision ops, deprecations) for one export."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        logger.setLevel(level)
