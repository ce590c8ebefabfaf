"""The playground's downloads (``GET .../runs/{n}/export/{kind}``), against a real uvicorn.

Each export must be what the CLI makes of the same run: the GIF is ``animate``'s file, the
PNG ``plot``'s picture, the zip a run folder that ``nnfit.load``, ``nnfit predict`` and
``nnfit show`` read and that predicts as the run's model does, the TOML what ``nnfit fit
RUN.toml`` reads back to the run's settings. The server runs in this process, so the tests can
compare with the run behind the API.
"""

import io
import time
import zipfile

import httpx
import numpy as np
import pytest
from PIL import Image

import nnfit
from nnfit.cli.main import main
from nnfit.runs.config import build_config, read_config
from nnfit.views.animation import animate
from nnfit.views.plotting import plot
from nnfit.web import exports
from nnfit.web.form import Caps
from nnfit.web.server import Playground
from nnfit.web.sessions import Sessions

QUICK = {"steps": 30, "points": 40}


@pytest.fixture(scope="module")
def server():
    playground = Playground(port=0, sessions=Sessions(Caps(), fps=200.0, grace=0.5)).start()
    yield playground
    playground.stop()


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.base, timeout=60) as client:
        assert client.get(f"/?token={server.token}").status_code == 200
        yield client


def wait_for(predicate, seconds=30.0):
    """Poll until ``predicate()`` is true; fail after ``seconds`` (a deadline, not a timing)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def start(client, settings=QUICK, **body):
    """A new session's run; returns (its URL, the run's id)."""
    session = client.post("/api/sessions").json()["session"]
    url = f"/api/sessions/{session}"
    answer = client.post(f"{url}/start", json={"settings": settings, **body})
    assert answer.status_code == 200, answer.text
    return url, answer.json()["run"]


def finished(client, settings=QUICK):
    """A run played to its end (no page needed: a run waits 10 s for its first one)."""
    url, run = start(client, settings)
    wait_for(lambda: client.get(f"{url}/runs/{run}").json()["state"] == "done")
    return url, run


def the_run(server, url):
    return server.sessions.get(url.rsplit("/", 1)[-1]).run


def download(client, url, run, kind):
    answer = client.get(f"{url}/runs/{run}/export/{kind}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    assert answer.headers["content-type"].startswith(exports.MEDIA_TYPES[kind])
    return answer


def test_the_gif_is_the_clis_animation_of_the_run(client, server, tmp_path):
    url, run = finished(client)
    answer = download(client, url, run, "gif")
    assert answer.content[:6] == b"GIF89a"
    assert answer.headers["content-disposition"].endswith('.gif"')
    history = the_run(server, url).history
    cli = animate(history, tmp_path / "fit.gif", fps=exports.GIF_FPS, size=exports.GIF_SIZE)
    assert answer.content == cli.read_bytes()  # the same renderer, the same file
    with Image.open(io.BytesIO(answer.content)) as gif:
        assert gif.n_frames == QUICK["steps"] + 1  # one frame per step: steps 0 to 30


def test_the_png_of_a_finished_run_is_the_clis_picture(client, server, tmp_path):
    url, run = finished(client)
    answer = download(client, url, run, "png")
    assert answer.content[:8] == b"\x89PNG\r\n\x1a\n"
    history = the_run(server, url).history
    cli = plot(history, tmp_path / "fit.png", size=exports.PNG_SIZE)
    with Image.open(io.BytesIO(answer.content)) as ours, Image.open(cli) as theirs:
        assert ours.size == exports.PNG_SIZE
        assert np.array_equal(np.asarray(ours), np.asarray(theirs))


def test_the_zip_is_a_run_folder_that_predicts_as_the_run(client, server, tmp_path, capsys):
    url, run = finished(client)
    answer = download(client, url, run, "zip")
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        names = archive.namelist()
        assert all(name.startswith(f"{exports.FOLDER}/") for name in names)
        archive.extractall(tmp_path)
    folder = tmp_path / exports.FOLDER
    assert {"run.json", "model.safetensors", "history.json", "fit.png"} <= {
        path.name for path in folder.iterdir()
    }
    x = np.linspace(-1, 1, 7).reshape(-1, 1)
    played = the_run(server, url).regressor
    assert np.array_equal(nnfit.load(folder).predict(x), played.predict(x))
    capsys.readouterr()
    assert main(["predict", str(folder), "--x", "0.5"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert float(printed[-1].split(",")[-1]) == pytest.approx(float(played.predict([[0.5]])[0]))
    assert main(["show", str(folder), "--no-window"]) == 0


def test_the_toml_reads_back_to_the_runs_settings(client, server, tmp_path):
    settings = {**QUICK, "lr": 0.2, "hidden": [8, 8], "optimizer": "adam", "noise": "uniform"}
    url, run = start(client, settings, paused=True)  # the settings are known at once
    answer = download(client, url, run, "toml")
    path = tmp_path / "run.toml"
    path.write_bytes(answer.content)
    base = read_config(path)  # as nnfit fit RUN.toml reads it (cli/fit.py)
    preset = base.pop("__preset__")
    assert build_config(preset, base=base, source=str(path)) == the_run(server, url).config


def test_a_paused_run_gives_its_current_frame_and_says_when_the_rest_come(client):
    url, run = start(client, paused=True)
    wait_for(lambda: client.get(f"{url}/runs/{run}").json()["frames"] == 1)
    picture = download(client, url, run, "png")
    assert picture.content[:4] == b"\x89PNG"
    assert "step-0" in picture.headers["content-disposition"]
    for kind in ("gif", "zip"):
        refused = client.get(f"{url}/runs/{run}/export/{kind}")
        assert refused.status_code == 409
        assert "once it ends" in refused.json()["error"]
    client.post(f"{url}/play")
    wait_for(lambda: client.get(f"{url}/runs/{run}").json()["state"] == "done")
    assert client.get(f"{url}/runs/{run}/export/gif").status_code == 200


def test_refusals_are_one_line_json(client):
    url, run = start(client, paused=True)
    unknown = client.get(f"{url}/runs/{run}/export/exe")
    assert unknown.status_code == 400 and "use gif, png, zip, toml" in unknown.json()["error"]
    assert client.get(f"{url}/runs/{run + 1}/export/png").status_code == 404
    assert client.get("/api/sessions/nobody/runs/1/export/png").status_code == 404


def test_a_failed_run_has_no_picture_but_its_settings(client, server):
    url, run = start(client, {**QUICK, "function": "x", "y_transform": "log"})  # log of y < 0
    wait_for(lambda: client.get(f"{url}/runs/{run}").json()["state"] == "failed")
    refused = client.get(f"{url}/runs/{run}/export/png")
    assert refused.status_code == 409 and "failed" in refused.json()["error"]
    assert client.get(f"{url}/runs/{run}/export/toml").status_code == 200


def test_downloads_need_the_token_and_carry_the_security_headers(client, server):
    url, run = finished(client)
    with httpx.Client(base_url=server.base) as bare:
        assert bare.get(f"{url}/runs/{run}/export/png").status_code == 403
    answer = download(client, url, run, "png")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert "access-control-allow-origin" not in answer.headers


def test_exports_leave_no_file_behind(client, monkeypatch, tmp_path):
    url, run = finished(client)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # where the private folders go
    for kind in exports.KINDS:
        download(client, url, run, kind)
    assert list(tmp_path.iterdir()) == []
