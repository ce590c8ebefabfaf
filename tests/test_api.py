import os
import subprocess
import sys
from pathlib import Path

import nnfit

EXPECTED = [
    "Callback",
    "DataError",
    "ExtrapolationWarning",
    "History",
    "MLP",
    "ModelConfig",
    "NNFitError",
    "Regressor",
    "Snapshot",
    "TrainConfig",
    "TrainingError",
    "UsageError",
    "__version__",
    "animate",
    "diagnose",
    "fit",
    "load",
    "make_data",
    "plot",
    "train",
]


def test_public_api_is_pinned_and_sorted():
    assert nnfit.__all__ == EXPECTED
    assert nnfit.__all__ == sorted(nnfit.__all__)


def test_every_public_name_resolves_to_a_documented_object():
    for name in nnfit.__all__:
        value = getattr(nnfit, name)
        if callable(value):
            assert value.__doc__, f"{name} has no docstring"


def test_names_of_earlier_versions_still_resolve_from_their_new_homes():
    import nnfit.runs
    import nnfit.sklearn
    import nnfit.views

    assert nnfit.NNFitRegressor is nnfit.sklearn.NNFitRegressor
    assert nnfit.Outputs is nnfit.runs.Outputs and nnfit.run is nnfit.runs.run
    assert nnfit.LiveWindow is nnfit.views.LiveWindow and nnfit.JsonlLog is nnfit.views.JsonlLog
    for module in (nnfit.views, nnfit.runs):
        for name in module.__all__:
            assert getattr(module, name).__doc__, f"{module.__name__}.{name} has no docstring"


def test_functions_are_not_shadowed_by_modules():
    import nnfit.core.training
    import nnfit.views.animation
    import nnfit.views.plotting

    assert callable(nnfit.train) and callable(nnfit.animate) and callable(nnfit.plot)


def test_import_is_lazy():
    code = "import nnfit, sys; print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_example_script_retells_the_lesson(tmp_path):
    script = Path(__file__).parent.parent / "examples" / "301_regression.py"
    assert len(script.read_text().splitlines()) <= 25
    gif = tmp_path / "lesson.gif"
    for _ in range(2):  # run again: the example replaces its own GIF
        out = subprocess.run(
            [sys.executable, str(script), str(gif)],
            capture_output=True,
            text=True,
            check=True,
            env={"MPLBACKEND": "Agg", "PATH": "", **pythonpath()},
        )
        assert "final loss: 0.00" in out.stdout
        assert gif.read_bytes()[:3] == b"GIF"


def test_package_ships_type_information():
    assert (Path(nnfit.__file__).parent / "py.typed").exists()


def pythonpath() -> dict[str, str]:
    """The PYTHONPATH this test runs under, so the script imports the same nnfit."""
    path = os.environ.get("PYTHONPATH")
    return {} if path is None else {"PYTHONPATH": path}
