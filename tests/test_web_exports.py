"""The playground's downloads (``GET .../runs/{n}/export/{kind}``), against a real uvicorn.

Each export must be what the CLI makes of the same run: the zip a run folder that
``nnfit.load``, ``nnfit predict`` and ``nnfit show`` read and that predicts the fit the page
was sent; the GIF the file ``nnfit show RUN --animate`` replays from that folder; the PNG the
folder's picture (``nnfit fit --plot``'s); the TOML what ``nnfit fit RUN.toml`` reads back to
the run's settings. Every test runs with runs in threads of the server and in a worker process
(as ``nnfit serve`` has them), through the API only.
"""

import io
import json
import time
import zipfile
from dataclasses import replace

import httpx
import numpy as np
import pytest
from PIL import Image

import nnfit
from nnfit.cli.main import main
from nnfit.runs.config import build_config, read_config
from nnfit.web import exports
from nnfit.web.form import build_run_config, frame_every
from nnfit.web.playrun import PlayRun

QUICK = {"steps": 30, "points": 40}


FPS = 200.0  # frames a second of the runs (conftest's server)


def wait_for(predicate, seconds=60.0):
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


def state(client, url, run):
    return client.get(f"{url}/runs/{run}").json()


def finished(client, settings=QUICK):
    """A run played to its end (no page needed: a run waits 10 s for its first one)."""
    url, run = start(client, settings)
    wait_for(lambda: state(client, url, run)["state"] == "done")
    return url, run


def final_frame(client, url, run):
    """The grid and the fit of a run's last frame, as its stream gives them to the page."""
    grid, fit, fields = None, None, {}
    with client.stream("GET", f"{url}/runs/{run}/events") as answer:
        for line in answer.iter_lines():
            if line and not line.startswith(":"):
                key, _, value = line.partition(":")
                fields[key] = value.strip()
            elif not line and "data" in fields:
                if fields.get("event") == "done":
                    break
                data = json.loads(fields["data"])
                grid = data.get("info", {}).get("grid", grid)
                fit = data["fit"] or fit
                fields = {}
    return np.array(grid).reshape(-1, 1), np.array(fit)


def download(client, url, run, kind):
    answer = client.get(f"{url}/runs/{run}/export/{kind}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    assert answer.headers["content-type"].startswith(exports.MEDIA_TYPES[kind])
    return answer


def unzipped(client, url, run, folder):
    """The run's zip, unzipped into ``folder``: the run folder's path."""
    answer = download(client, url, run, "zip")
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        assert all(name.startswith(f"{exports.FOLDER}/") for name in archive.namelist())
        archive.extractall(folder)
    return folder / exports.FOLDER


def test_the_zip_is_a_run_folder_that_predicts_as_the_run(client, tmp_path, capsys):
    url, run = finished(client)
    folder = unzipped(client, url, run, tmp_path)
    assert {"run.json", "model.safetensors", "history.json", "fit.png"} <= {
        path.name for path in folder.iterdir()
    }
    grid, fit = final_frame(client, url, run)  # what the page drew last
    loaded = nnfit.load(folder).predict(grid)
    assert loaded == pytest.approx(fit, rel=1e-5, abs=1e-6)
    capsys.readouterr()
    assert main(["predict", str(folder), "--x", str(grid[3, 0])]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert float(printed[-1].split(",")[-1]) == pytest.approx(fit[3], rel=1e-5, abs=1e-6)
    assert main(["show", str(folder), "--no-window"]) == 0


def test_the_gif_and_png_are_what_the_cli_draws_of_the_run(client, tmp_path):
    url, run = finished(client)
    gif = download(client, url, run, "gif")
    assert gif.content[:6] == b"GIF89a" and gif.headers["content-disposition"].endswith('.gif"')
    folder = unzipped(client, url, run, tmp_path)
    replay = tmp_path / "replay.gif"  # nnfit show RUN --animate: the run folder's history
    size = "x".join(map(str, exports.GIF_SIZE))
    argv = ["show", str(folder), "--animate", str(replay), "--fps", "25", "--size", size]
    assert main(argv) == 0
    assert gif.content == replay.read_bytes()  # the same renderer, the same file
    with Image.open(io.BytesIO(gif.content)) as frames:
        assert frames.n_frames == QUICK["steps"] + 1  # one frame per step: steps 0 to 30
    picture = download(client, url, run, "png")
    assert picture.content[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(picture.content)) as ours, Image.open(folder / "fit.png") as cli:
        assert ours.size == exports.PNG_SIZE  # the picture nnfit fit --out saves
        assert np.array_equal(np.asarray(ours), np.asarray(cli))


def test_the_toml_reads_back_to_the_runs_settings(client, tmp_path):
    settings = {**QUICK, "lr": 0.2, "hidden": [8, 8], "optimizer": "adam", "noise": "uniform"}
    url, run = start(client, settings, paused=True)  # the settings are known at once
    answer = download(client, url, run, "toml")
    path = tmp_path / "run.toml"
    path.write_bytes(answer.content)
    base = read_config(path)  # as nnfit fit RUN.toml reads it (cli/fit.py)
    preset = base.pop("__preset__")
    asked = build_run_config(settings)  # the run's: with the frame spacing it played at
    played = replace(asked, train=replace(asked.train, every=frame_every(asked.train.steps)))
    assert build_config(preset, base=base, source=str(path)) == played


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


def test_exports_leave_no_file_behind(monkeypatch, tmp_path):
    run = PlayRun(build_run_config(QUICK), fps=1000.0, grace=60.0)  # as a worker holds it
    run.attach()
    run.start()
    wait_for(lambda: run.finished)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # where the private folders go
    for kind in exports.KINDS:
        content, media_type, _ = run.export(kind)
        assert content and media_type == exports.MEDIA_TYPES[kind]
    assert list(tmp_path.iterdir()) == []


def test_an_uploaded_tables_toml_names_it_and_fits_it_again_with_nnfit_fit(client, tmp_path):
    rows = "\n".join(f"{t},{0.5 * t * t + 1:.4f}" for t in range(30))
    table = f"time,temp\n{rows}\n"
    session = client.post("/api/sessions").json()["session"]
    url = f"/api/sessions/{session}"
    sent = client.post(
        f"{url}/upload",
        params={"name": "oven.csv"},
        content=table.encode(),
        headers={"content-type": "text/csv"},
    )
    assert sent.status_code == 200, sent.text
    settings = {"steps": 20, "members": 1}
    run = client.post(f"{url}/start", json={"settings": settings, "paused": True}).json()["run"]
    text = download(client, url, run, "toml").text
    assert text.startswith("# fitted to the table uploaded as oven.csv")
    (tmp_path / "oven.csv").write_text(table)
    (tmp_path / "run.toml").write_text(text)
    base = read_config(tmp_path / "run.toml")
    assert base["data"]["file"] == "oven.csv" and base.pop("__preset__") == "data"
    import os

    here = os.getcwd()
    os.chdir(tmp_path)  # nnfit fit reads the table beside the settings, by its name
    try:
        assert main(["fit", "run.toml", "--no-window", "--out", "again"]) == 0
    finally:
        os.chdir(here)
    again = nnfit.load(tmp_path / "again")  # the table's rows, the page's settings
    assert again.steps == 20 and "oven.csv (30 rows; time -> temp)" in repr(again)
    edited = client.post(f"{url}/points", json={"action": "add", "x": 31, "y": 400})
    assert edited.status_code == 200, edited.text
    run = client.post(f"{url}/start", json={"settings": settings, "paused": True}).json()["run"]
    assert download(client, url, run, "toml").text.startswith("# the points were edited")
