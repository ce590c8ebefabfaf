"""The sentence that names inputs outside the training range."""

import numpy as np

from nnfit.core.extrapolation import extrapolation_note, training_range


def test_training_range_is_each_columns_min_and_max():
    x = np.array([[3.0, -1.0], [0.0, 5.0], [360.0, 2.0]])
    assert training_range(x) == ([0.0, -1.0], [360.0, 5.0])


def test_inside_the_range_edges_included_there_is_nothing_to_say():
    x = np.array([[0.0], [180.0], [360.0]])
    assert extrapolation_note(x, [0.0], [360.0], ["temperature"]) is None


def test_one_column_names_the_farthest_value_the_range_and_the_rows():
    x = np.array([[100.0], [400.0], [-10.0], [380.0], [5.0]])
    note = extrapolation_note(x, [0.0], [360.0], ["temperature"])
    assert note == (
        "x = 400 is outside the training range 0 to 360 of temperature (3 of 5 rows): "
        "predictions there are extrapolations"
    )


def test_below_the_range_counts_too_and_one_row_is_singular():
    note = extrapolation_note(np.array([[-0.25]]), [0.5], [2.0], ["t"])
    assert note is not None
    assert note.startswith("x = -0.25 is outside the training range 0.5 to 2 of t (1 of 1 row)")


def test_with_several_inputs_the_column_is_named():
    x = np.array([[1.0, 10.0], [2.0, 99.0]])
    note = extrapolation_note(x, [0.0, 0.0], [5.0, 50.0], ["a", "b"])
    assert note is not None and note.startswith("b = 99 is outside the training range 0 to 50 of b")
    assert "(1 of 2 rows)" in note


def test_several_columns_outside_are_all_named():
    x = np.array([[9.0, 1.0], [1.0, -7.0], [1.0, 1.0]])
    note = extrapolation_note(x, [0.0, 0.0], [5.0, 5.0], ["a", "b"])
    assert note == (
        "x is outside the training range in 2 of 3 rows: a = 9 (range 0 to 5), "
        "b = -7 (range 0 to 5); predictions there are extrapolations"
    )


def test_a_constant_training_column_still_warns():
    note = extrapolation_note(np.array([[2.0], [3.0]]), [2.0], [2.0], ["c"])
    assert note is not None and "x = 3 " in note and "(1 of 2 rows)" in note
