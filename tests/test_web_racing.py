"""A race on the playground's server: variants of one setting on one step clock, streamed.

The race is nnfit's own (``race.lanes`` and ``race.runner.run_race``): every lane starts from
the same weights, so their step-0 losses are equal; every frame's ``points`` row carries each
lane's loss, ``fits`` each lane's fit; ``done`` carries the race's table and winner.
"""

import io
import json
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from nnfit.race.lanes import MAX_VARIANTS
from nnfit.runs.config import PRESETS, RACES
from nnfit.web import exports
from nnfit.web.form import build_run_config

QUICK = {"steps": 24, "points": 40}
OPTIMIZERS = {"setting": "optimizer", "values": "sgd,momentum,rmsprop,adam"}


FPS = 200.0  # frames a second of the runs (conftest's server)


def start(client, race, settings=QUICK, **body):
    """(the session's URL, the answer) of starting a race in a new session."""
    session = client.post("/api/sessions").json()["session"]
    url = f"/api/sessions/{session}"
    return url, client.post(f"{url}/start", json={"settings": settings, "race": race, **body})


def events(client, url, run):
    """(event, data) of a run's stream until ``done``."""
    out, fields = [], {}
    with client.stream("GET", f"{url}/runs/{run}/events") as answer:
        for line in answer.iter_lines():
            if line.startswith(":"):
                continue
            if line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
                continue
            if "data" in fields:
                out.append((fields.get("event"), json.loads(fields["data"])))
                if fields.get("event") == "done":
                    break
            fields = {}
    return out


def wait_for(predicate, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


@pytest.mark.parametrize(
    "race",
    [OPTIMIZERS, {"setting": "lr", "values": [0.5, 0.1]}],  # separate lanes; one batched lane
    ids=["optimizers", "learning-rates"],
)
def test_a_race_streams_every_lanes_loss_and_fit_from_the_same_weights(client, race):
    url, answer = start(client, race)
    assert answer.status_code == 200, answer.text
    stream = events(client, url, answer.json()["run"])
    frames = [data for kind, data in stream if kind == "frame"]
    info = frames[0]["info"]
    lanes = info["lanes"]
    n = len(race["values"]) if isinstance(race["values"], list) else 4
    assert len(lanes) == n and len(info["colours"]) == n and len(set(info["colours"])) == n
    rows = [row for frame in frames for row in frame["points"]]
    assert [row[0] for row in rows] == list(range(QUICK["steps"] + 1))  # each step once
    assert all(len(row) == 3 + n for row in rows)
    first = rows[0][3:]
    assert all(loss == pytest.approx(first[0], rel=1e-6) for loss in first)  # same weights
    assert len({tuple(row[3:]) for row in rows[1:]}) > 1  # then they part
    assert all(row[1] == min(v for v in row[3:] if v is not None) for row in rows[:-1])
    grid = len(info["grid"])
    drawn = [frame["fits"] for frame in frames if frame["points"]]  # not the grid-only one
    assert all(len(fits) == n and all(len(fit) == grid for fit in fits) for fits in drawn)
    kind, done = stream[-1]
    assert kind == "done" and done["state"] == "done"
    table = done["race"]
    assert [lane["name"] for lane in table["lanes"]] == lanes
    finals = rows[-1][3:]
    assert [lane["loss"] for lane in table["lanes"]] == pytest.approx(finals)
    assert table["winner"] is None or table["winner"] in lanes


def test_a_race_pauses_and_steps_like_a_run(client, server):
    url, answer = start(client, OPTIMIZERS, paused=True)
    run = answer.json()["run"]

    def state():
        return client.get(f"{url}/runs/{run}").json()

    watcher = httpx.Client(base_url=server.base, timeout=20, cookies=client.cookies)
    with watcher, watcher.stream("GET", f"{url}/runs/{run}/events"):
        wait_for(lambda: state()["state"] == "paused" and state()["frames"] == 1)
        client.post(f"{url}/step")
        wait_for(lambda: state()["frames"] == 2)
        assert state()["step"] == 1 and state()["state"] == "paused"
        client.post(f"{url}/play")
        wait_for(lambda: state()["state"] == "done")
    assert state()["step"] == QUICK["steps"]


@pytest.mark.parametrize(
    ("race", "words"),
    [
        ({"setting": "optimizer", "values": "adam"}, "at least 2 variants"),
        (
            {"setting": "lr", "values": ",".join(str(0.01 * (i + 1)) for i in range(11))},
            f"at most {MAX_VARIANTS}",
        ),
        ({"setting": "seed", "values": "1,2"}, "cannot be swept"),
        ({"setting": "colour", "values": "1,2"}, "is not a setting"),
        ({"setting": "hidden", "values": "8,300"}, "at most 256 on this server"),
        ({"setting": "lr", "values": "0.1,-1"}, "lr"),
        ({"setting": "lr"}, "values are text"),
        ("adam,sgd", "a race is"),
    ],
)
def test_a_race_the_server_would_not_run_is_refused_in_a_line(client, race, words):
    url, answer = start(client, race)
    assert answer.status_code == 400
    assert words in answer.json()["error"]
    assert client.get(f"{url}/runs/1").status_code == 404  # nothing started


def test_the_lessons_optimiser_race_is_offered_with_its_settings(client):
    offer = client.get("/api/settings").json()["race"]
    assert offer["most"] == MAX_VARIANTS
    assert {"optimizer", "lr", "hidden", "activation"} <= set(offer["settings"])
    assert not {"seed", "members", "every"} & set(offer["settings"])  # not raced
    lesson = offer["presets"]["morvan-optimizers"]
    assert (lesson["setting"], lesson["values"]) == next(iter(RACES["morvan-optimizers"].items()))
    config = build_run_config(lesson["settings"])  # every value is a form value the page sends
    preset = PRESETS["morvan-optimizers"]
    assert config.data.points == preset["data"]["points"]
    assert config.model.hidden == preset["model"]["hidden"]
    assert (
        config.train.lr == preset["train"]["lr"] and config.train.steps == preset["train"]["steps"]
    )


def test_a_finished_race_downloads_as_an_animation_but_not_as_a_run_folder(client):
    url, answer = start(client, {"setting": "lr", "values": "0.5,0.1"})
    run = answer.json()["run"]
    wait_for(lambda: client.get(f"{url}/runs/{run}").json()["state"] == "done")
    gif = client.get(f"{url}/runs/{run}/export/gif")
    assert gif.status_code == 200 and gif.content[:6] == b"GIF89a"
    assert gif.headers["content-disposition"] == 'attachment; filename="nnfit-race.gif"'
    with Image.open(io.BytesIO(gif.content)) as frames:
        assert frames.n_frames == QUICK["steps"] + 1
        assert frames.size == exports.GIF_SIZE
    folder = client.get(f"{url}/runs/{run}/export/zip")
    assert folder.status_code == 400 and "run the variant you want" in folder.json()["error"]
    toml = client.get(f"{url}/runs/{run}/export/toml")
    assert toml.status_code == 200 and b"--lr 0.5,0.1" in toml.content


def test_the_words_the_race_table_and_downloads_build_are_in_both_catalogues():
    from nnfit.core.diagnostics import KINDS

    folder = Path(__file__).parent.parent / "src" / "nnfit" / "web" / "static" / "i18n"
    for lang in ("en", "zh"):
        words = json.loads((folder / f"{lang}.json").read_text(encoding="utf-8"))
        assert all(f"outcome.{kind}" in words for kind in KINDS)  # race.js: outcome.KIND
        assert all(f"export.{kind}_title" in words for kind in exports.KINDS)  # exports.js


def test_a_student_cannot_race_what_a_classroom_link_fixed(client, server):
    code = client.post("/api/classroom", json={"values": {}, "fix": ["optimizer"]}).json()["code"]
    with httpx.Client(base_url=server.base, timeout=60) as student:  # no token, only the link
        assert student.get(f"/?class={code}").status_code == 200
        url = f"/api/sessions/{student.post('/api/sessions').json()['session']}"
        refused = student.post(f"{url}/start", json={"settings": QUICK, "race": OPTIMIZERS})
        assert refused.status_code == 400
        assert refused.json() == {
            "error": "optimizer is fixed at 'sgd' by this classroom link: it cannot race, "
            "got 'sgd,momentum,rmsprop,adam'",
            "setting": "optimizer",
            "code": "locked_race",  # worded by the 中文 page's catalogue
            "params": {"fixed": "'sgd'", "value": "sgd,momentum,rmsprop,adam"},
        }
        rates = {"setting": "lr", "values": "0.5,0.1"}  # what is not fixed races
        assert student.post(f"{url}/start", json={"settings": QUICK, "race": rates}).is_success
