"""Shared fixtures: headless matplotlib, a small seeded lesson run."""

from __future__ import annotations

import os
import shutil
import subprocess

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


@pytest.fixture(scope="module")
def xvfb():
    """A virtual X screen for a module's real-window tests; yields its DISPLAY value."""
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.fail(
            "Xvfb is needed for the live-window tests and was not found; install it "
            "(Debian/Ubuntu: apt-get install xvfb, or run scripts/system-deps.sh)"
        )
    read, write = os.pipe()
    server = subprocess.Popen(
        [exe, "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()  # Xvfb writes its display number once it is ready
    if not number:
        server.kill()
        pytest.fail("Xvfb did not start")
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)


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


@pytest.fixture(scope="module")
def window_env(xvfb):
    """The environment of a child interpreter whose windows open on the virtual screen
    (TkAgg), importing this checkout's nnfit."""
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "DISPLAY": xvfb, "MPLBACKEND": "TkAgg"}
    env.pop("WAYLAND_DISPLAY", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="module", params=["threads", "processes"])
def server(request):
    """A playground on a free loopback port whose runs train in threads of this process, or
    (as ``nnfit serve`` has them) in a worker process: every API test runs against both. A
    module sets its frame rate with ``FPS`` (default 100: fast, still paced)."""
    from nnfit.web.form import Caps
    from nnfit.web.server import Playground
    from nnfit.web.sessions import Sessions

    workers = 1 if request.param == "processes" else 0
    fps = getattr(request.module, "FPS", 100.0)
    sessions = Sessions(Caps(), fps=fps, grace=0.5, workers=workers)
    playground = Playground(port=0, sessions=sessions).start()
    yield playground
    playground.stop()


@pytest.fixture
def client(server):
    """A client that showed the token once (so holds its cookie), as a browser would."""
    import httpx

    with httpx.Client(base_url=server.base, timeout=60) as client:
        assert client.get(f"/?token={server.token}").status_code == 200
        yield client
