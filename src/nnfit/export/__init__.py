"""Export a trained MLP: to ONNX, to a standalone NumPy module, or as an exact ReLU formula."""

from .formula import PiecewiseLinear, relu_formula
from .onnx import export_onnx
from .python import export_python

__all__ = ["PiecewiseLinear", "export_onnx", "export_python", "relu_formula"]
