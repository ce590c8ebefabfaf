"""Shared fixtures: headless matplotlib, a small seeded lesson run."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# lets scikit-learn's estimator checks run check_array_api_input instead of skipping it
os.environ.setdefault("SCIPY_ARRAY_API", "1")


@pytest.fixture(scope="session")
def lesson_history():
    """The lesson run with the default seed (21 snapshots, steps 0, 5, ..., 95, 100)."""
    import nnfit
    from nnfit.core.traindata import prepare

    x, y = nnfit.make_data(seed=0)
    model = nnfit.MLP(1, 10, 1, seed=0)
    return nnfit.train(model, prepare(x, y, noise_floor=0.2**2 / 12), nnfit.TrainConfig())


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models train fastest on one thread, and tests run two at a time on two cores."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


POSTGRES = "NNFIT_TEST_POSTGRES"  # set by scripts/with-postgres.sh (make test, .ci/run)


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database for one test, dropped after it (its URL)."""
    import uuid

    server = os.environ.get(POSTGRES)
    if not server:
        pytest.skip(f"no PostgreSQL server: {POSTGRES} is unset (make test starts one)")
    psycopg = pytest.importorskip("psycopg")
    name = f"nnfit_test_{uuid.uuid4().hex[:12]}"
    admin = server.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    yield f"{server.rpartition('/')[0]}/{name}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
