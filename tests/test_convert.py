"""The one input converter: one dtype rule, one message style, DataFrame names read once."""

import numpy as np
import pytest
import torch

import nnfit
from nnfit.core.traindata import prepare
from nnfit.data.convert import as_array, as_matrix, column_names
from nnfit.errors import DataError
from nnfit.regressor import Regressor


class Frame:
    """A duck-typed DataFrame: columns and to_numpy, as pandas and polars have."""

    def __init__(self, values: np.ndarray, columns: list[str]) -> None:
        self.values, self.columns = values, columns

    def to_numpy(self) -> np.ndarray:
        return self.values


def test_float32_stays_float32_everything_else_becomes_float64():
    assert as_array(np.zeros(3, np.float32), "x")[0].dtype == np.float32
    assert as_array([1, 2, 3], "x")[0].dtype == np.float64
    assert as_array(torch.zeros(3, dtype=torch.float64), "x")[0].dtype == np.float64


def test_as_matrix_is_float32_columns_without_copying_float32_data():
    values = np.arange(6, dtype=np.float32).reshape(3, 2)
    tensor = as_matrix(values, "x")
    assert tensor.dtype == torch.float32 and tensor.shape == (3, 2)
    assert tensor.data_ptr() == values.ctypes.data
    assert as_matrix([1.0, 2.0], "x").shape == (2, 1)


def test_train_and_fit_say_the_same_about_the_same_bad_value():
    x = [1.0, float("nan"), 3.0]
    messages = []
    for call in (
        lambda: nnfit.train(nnfit.MLP(1, 4, 1), (x, [1.0, 2.0, 3.0])),
        lambda: Regressor().fit(x, [1.0, 2.0, 3.0]),
    ):
        with pytest.raises(nnfit.DataError) as error:
            call()
        messages.append(str(error.value))
    assert (
        messages[0]
        == messages[1]
        == ("x row 2, column 1: a missing or infinite value; remove or fill such rows first")
    )


def test_dataframe_column_names_label_train_and_fit_alike():
    x = Frame(np.linspace(-1, 1, 20).reshape(-1, 1), ["temperature"])
    y = Frame(np.linspace(-1, 1, 20).reshape(-1, 1) ** 2, ["pressure"])
    data = prepare(x, y)
    assert (data.x_names, data.y_names) == (("temperature",), ("pressure",))
    fitted = Regressor(steps=5, members=1).fit(x, y)
    assert (fitted.x_names_, fitted.y_names_) == (data.x_names, data.y_names)


def test_column_names_default_and_given():
    assert column_names(None, 1, "x") == ("x",)
    assert column_names(None, 3, "y") == ("y1", "y2", "y3")
    assert column_names(["a", 2], 2, "x") == ("a", "2")


def test_column_names_refuses_the_wrong_count():
    with pytest.raises(DataError, match="1 x name"):
        column_names(["a"], 2, "x")
