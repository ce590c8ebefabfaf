"""The playground's server on loopback: token, Host/Origin, headers, controls and SSE streams.

A real uvicorn serves on a free port from a thread of this process (``Playground.start``), so
tests can also look at the runs behind the API; one test starts ``nnfit serve`` as a process
and stops it by its pid.
"""

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import nnfit
from nnfit.cli.main import main
from nnfit.web.form import Caps
from nnfit.web.security import CSP
from nnfit.web.server import Playground
from nnfit.web.sessions import Busy, Sessions, UnknownSession

SRC = Path(nnfit.__file__).parent.parent
QUICK = {"steps": 40, "points": 50}  # a short run: 40 frames


def new_session(client):
    answer = client.post("/api/sessions")
    assert answer.status_code == 200
    return answer.json()["session"]


def read_events(client, session, run, *, last_id=None, stop_after=None):
    """(event, id, data) of a run's stream, until ``done`` or ``stop_after`` frames."""
    headers = {} if last_id is None else {"Last-Event-ID": str(last_id)}
    events, fields = [], {}
    url = f"/api/sessions/{session}/runs/{run}/events"
    with client.stream("GET", url, headers=headers) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        for line in answer.iter_lines():
            if line.startswith(":"):
                continue  # a keep-alive comment
            if line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
                continue
            if "data" in fields:
                events.append((fields.get("event"), fields.get("id"), json.loads(fields["data"])))
                if fields.get("event") == "done" or len(events) == stop_after:
                    break
            fields = {}
    return events


def wait_for(predicate, seconds=20.0):
    """Poll until ``predicate()`` is true; fail after ``seconds`` (a deadline, not a timing)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def test_every_request_needs_the_token(server):
    with httpx.Client(base_url=server.base) as bare:
        assert bare.get("/").status_code == 403
        assert bare.get("/api/settings").status_code == 403
        assert bare.post("/api/sessions").status_code == 403
        assert bare.get("/static/app.js").status_code == 403
        assert bare.get("/?token=wrong").status_code == 403
        assert (
            bare.get("/api/settings", headers={"Authorization": "token wrong"}).status_code == 403
        )
        auth = {"Authorization": f"token {server.token}"}
        assert bare.get("/api/settings", headers=auth).status_code == 200


def test_the_first_visit_sets_a_strict_http_only_cookie(server):
    with httpx.Client(base_url=server.base) as browser:
        first = browser.get(f"/?token={server.token}", follow_redirects=False)
        assert first.status_code == 200
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert browser.get("/").status_code == 200  # the cookie is enough from now on
        assert browser.get("/api/settings").status_code == 200


def test_requests_for_another_host_or_from_another_origin_are_refused(client, server):
    port = server.port
    assert client.get("/api/settings", headers={"Host": f"evil.example:{port}"}).status_code == 400
    others = ("http://evil.example", f"http://evil.example:{port}", "null", "file://")
    # another port of this machine is another site too (cookies are not kept apart by port)
    others += (f"http://127.0.0.1:{port + 1}", f"http://localhost:{port + 1}", "http://[::1]")
    for origin in others:
        answer = client.post("/api/sessions", headers={"Origin": origin})
        assert answer.status_code == 403, origin
        assert "access-control-allow-origin" not in answer.headers
    own = client.post("/api/sessions", headers={"Origin": server.base})
    assert own.status_code == 200 and "access-control-allow-origin" not in own.headers
    for site in ("cross-site", "same-site"):
        fetched = client.get("/api/settings", headers={"Sec-Fetch-Site": site})
        assert fetched.status_code == 403, site
    assert client.get("/api/settings", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    link = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}  # a link elsewhere
    assert client.get("/", headers=link).status_code == 200
    assert client.post("/api/sessions", headers=link).status_code == 403  # only to look


def test_bodies_without_a_length_or_too_long_are_refused_unread(client):
    session = new_session(client)
    url = f"/api/sessions/{session}/setting"
    huge = {"name": "function", "value": "x" + " + x" * 20_000}
    assert client.post(url, json=huge).status_code == 413

    def chunks():
        yield b'{"name": "lr", "value": 0.1}'

    assert client.post(url, content=chunks()).status_code == 411  # chunked: no length


def test_no_path_leaves_the_static_folder(client):
    secret = Path(nnfit.__file__).read_text(encoding="utf-8")[:200]
    for path in (
        "/static/../app.py",
        "/static/..%2fapp.py",
        "/static/%2e%2e/%2e%2e/__init__.py",
        "/static/%2e%2e%2f%2e%2e%2f__init__.py",
        "/static//etc/passwd",
        "/static/..\\app.py",
        "/static/i18n/../../form.py",
        "/static/%00",
    ):
        answer = client.get(path)
        assert answer.status_code in (400, 404), path
        assert secret not in answer.text and "root:" not in answer.text


def test_every_answer_carries_the_security_headers(client):
    for path in ("/", "/static/app.js", "/api/settings", "/nowhere"):
        headers = client.get(path).headers
        assert headers["content-security-policy"] == CSP
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
    assert "'unsafe-inline'" not in CSP and "frame-ancestors 'none'" in CSP
    assert "script-src 'self'" in CSP and "style-src 'self'" in CSP


def test_the_settings_endpoint_is_the_form(client):
    from nnfit.web.form import form_table

    body = client.get("/api/settings").json()
    assert body["settings"] == json.loads(json.dumps(form_table(Caps())))
    assert body["caps"]["steps"] == Caps().steps


def test_settings_are_checked_with_the_clis_messages(client):
    session = new_session(client)
    bad = client.post(f"/api/sessions/{session}/setting", json={"name": "lr", "value": 0})
    assert bad.status_code == 400
    assert bad.json()["error"] == "lr must be a finite number above 0, got 0"
    assert bad.json()["setting"] == "lr"
    capped = client.post(f"/api/sessions/{session}/setting", json={"name": "steps", "value": 10**6})
    assert capped.status_code == 400 and capped.json()["setting"] == "steps"
    good = client.post(f"/api/sessions/{session}/setting", json={"name": "lr", "value": 0.2})
    assert good.status_code == 200 and good.json()["settings"] == {"lr": 0.2}
    assert client.post("/api/sessions/nosuch/start", json={}).status_code == 404


def test_settings_that_must_agree_change_together(client):
    session = new_session(client)
    url = f"/api/sessions/{session}/setting"
    client.post(url, json={"settings": {"hidden": [6, 6], "activation": ["relu", "tanh"]}})
    # one more layer alone disagrees with two activations; with a third one it agrees
    alone = client.post(url, json={"name": "hidden", "value": [6, 6, 6]})
    assert alone.status_code == 400 and alone.json()["setting"] == "activation"
    both = {"hidden": [6, 6, 6], "activation": ["relu", "tanh", "tanh"]}
    answer = client.post(url, json={"settings": both})
    assert answer.status_code == 200 and answer.json()["settings"] == both
    bad = client.post(url, json={"settings": {"hidden": [6], "activation": ["relu", "tanh"]}})
    assert bad.status_code == 400
    after = client.post(url, json={"name": "lr", "value": 0.2}).json()["settings"]
    assert after == {**both, "lr": 0.2}  # the refused change left nothing behind


def test_the_preview_is_the_runs_data_before_training(client):
    session = new_session(client)
    data = client.post(f"/api/sessions/{session}/preview", json={"points": 30}).json()
    x, y = nnfit.make_data(points=30, seed=0)
    assert data["x"] == pytest.approx(x[:, 0].tolist())
    assert data["y"] == pytest.approx(y[:, 0].tolist())
    assert data["noise_floor"] == pytest.approx(0.2**2 / 12)


def test_a_run_streams_frames_with_ids_and_ends_with_done(client):
    session = new_session(client)
    start = client.post(f"/api/sessions/{session}/start", json={"settings": QUICK})
    run = start.json()["run"]
    events = read_events(client, session, run)
    frames = [e for e in events if e[0] == "frame"]
    ids = [int(e[1]) for e in frames]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    steps = [p[0] for _, _, data in frames for p in data["points"]]
    assert steps == list(range(0, QUICK["steps"] + 1))  # every frame's point, none twice
    assert frames[0][2]["info"]["grid"] and frames[0][2]["info"]["every"] == 1
    assert len(frames[-1][2]["fit"]) == len(frames[0][2]["info"]["grid"])
    kind, done_id, done = events[-1]
    assert kind == "done" and int(done_id) > ids[-1]
    assert done["state"] == "done" and done["step"] == QUICK["steps"]
    assert {"rmse", "r2", "mae"} <= set(done["metrics"]["train"])
    assert done["diagnosis"]["kind"] in ("ok", "dead_units", "stalled", "unfinished")


def test_a_run_that_fails_ends_with_done_and_the_reason(client):
    session = new_session(client)
    settings = {**QUICK, "function": "x", "y_transform": "log"}  # log of negative y: refused
    run = client.post(f"/api/sessions/{session}/start", json={"settings": settings}).json()["run"]
    kind, _, done = read_events(client, session, run)[-1]
    assert kind == "done" and done["state"] == "failed"
    assert done["error"].startswith("y_transform needs every y above 0 for log")
    assert done["code"] == "log" and done["setting"] == "y_transform"  # the page words it


def test_a_fast_run_streams_fewer_fits_but_every_loss_point(client):
    session = new_session(client)
    assert client.post(f"/api/sessions/{session}/speed", json={"speed": 10}).json() == {
        "speed": 10.0
    }
    settings = {**QUICK, "steps": 240}  # 241 frames, played ten times faster than streamed
    run = client.post(f"/api/sessions/{session}/start", json={"settings": settings}).json()["run"]
    events = read_events(client, session, run)
    frames = [e for e in events if e[0] == "frame"]
    steps = [p[0] for _, _, data in frames for p in data["points"]]
    assert steps == list(range(0, settings["steps"] + 1))
    assert len(frames) < len(steps)  # the stream sent the newest fit, not each
    assert events[-1][0] == "done"


def test_speed_is_checked(client):
    session = new_session(client)
    for speed in (11, 0, "fast", None, True):
        answer = client.post(f"/api/sessions/{session}/speed", json={"speed": speed})
        assert answer.status_code == 400, speed
        assert answer.json()["setting"] == "speed"
        assert answer.json()["error"].startswith("speed must be a number from 0.1 to 10, got ")


def test_an_ensembles_frames_carry_its_spread(client):
    session = new_session(client)
    settings = {**QUICK, "steps": 5, "members": 3}
    run = client.post(f"/api/sessions/{session}/start", json={"settings": settings}).json()["run"]
    frames = [e for e in read_events(client, session, run) if e[0] == "frame"]
    assert frames[0][2]["info"]["members"] == 3
    std = frames[-1][2]["std"]
    assert len(std) == len(frames[-1][2]["fit"]) and max(std) > 0


def test_a_last_event_id_that_is_not_a_frame_number_starts_from_the_first_frame():
    from nnfit.web.stream import last_event_id

    assert [last_event_id(v) for v in (None, "", "abc", "-3", "1e9", "9" * 40)] == [0] * 6
    assert last_event_id(" 12 ") == 12


def test_a_reconnect_with_last_event_id_resumes_instead_of_restarting(client):
    session = new_session(client)
    settings = {**QUICK, "steps": 60}
    run = client.post(f"/api/sessions/{session}/start", json={"settings": settings}).json()["run"]
    first = read_events(client, session, run, stop_after=5)
    last = int(first[-1][1])
    rest = read_events(client, session, run, last_id=last)
    seen = [p[0] for _, _, data in first for p in data["points"]]
    resumed = [p[0] for kind, _, data in rest if kind == "frame" for p in data["points"]]
    assert resumed[0] == seen[-1] + 1  # the next step, not step 0 again
    assert seen + resumed == list(range(0, settings["steps"] + 1))
    assert rest[-1][0] == "done"


def test_pause_step_and_play(client, server):
    session = new_session(client)
    url = f"/api/sessions/{session}"
    answer = client.post(f"{url}/start", json={"settings": QUICK, "paused": True}).json()
    run = answer["run"]

    def state():
        return client.get(f"{url}/runs/{run}").json()

    watcher = httpx.Client(base_url=server.base, timeout=20, cookies=client.cookies)
    with watcher, watcher.stream("GET", f"{url}/runs/{run}/events"):  # a page watches
        wait_for(lambda: state()["state"] == "paused" and state()["frames"] == 1)
        assert state()["step"] == 0
        client.post(f"{url}/step")
        wait_for(lambda: state()["frames"] == 2)
        time.sleep(0.2)  # paused again: no more frames come
        assert state()["frames"] == 2 and state()["state"] == "paused"
        client.post(f"{url}/play")
        wait_for(lambda: state()["state"] == "done")
    assert state()["step"] == QUICK["steps"]


def test_a_run_stops_when_its_page_goes_away(client, server):
    session = new_session(client)
    long = {"steps": 20_000, "points": 50}
    run = client.post(f"/api/sessions/{session}/start", json={"settings": long}).json()["run"]
    read_events(client, session, run, stop_after=3)  # the page reads a little, then leaves
    playing = server.sessions.get(session).run
    wait_for(lambda: playing.finished, 10)
    assert playing.state == "stopped" and playing.since(0).step < long["steps"]
    if hasattr(playing, "thread"):  # in this process: its thread has ended
        playing.thread.join(5)
        assert not playing.thread.is_alive()


def test_sessions_are_independent(client):
    one, two = new_session(client), new_session(client)
    client.post(f"/api/sessions/{one}/start", json={"settings": {**QUICK, "steps": 5000}})
    client.post(f"/api/sessions/{two}/start", json={"settings": QUICK})
    assert client.post(f"/api/sessions/{one}/reset").json() == {"state": "idle"}
    assert client.get(f"/api/sessions/{one}/runs/1").status_code == 404
    events = read_events(client, two, 1)
    assert events[-1][0] == "done" and events[-1][2]["state"] == "done"


def test_sessions_left_idle_are_forgotten_and_a_full_server_says_so():
    sessions = Sessions(max_sessions=2, idle=0.05)
    first = sessions.create()
    time.sleep(0.1)
    sessions.create()  # the first, idle and without a run, is forgotten now
    with pytest.raises(UnknownSession):
        sessions.get(first.id)
    busy = Sessions(max_sessions=1)
    session = busy.create()
    busy.start(session, {"steps": 20_000})  # training: it cannot make room
    try:
        with pytest.raises(Busy, match="the server is full"):
            busy.create()
    finally:
        busy.reset(session)


def test_nnfit_serve_prints_a_url_with_a_token_and_serves_it(tmp_path):
    paths = [str(SRC), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in paths)}
    process = subprocess.Popen(
        [sys.executable, "-m", "nnfit", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        line = process.stdout.readline()
        if not line:
            pytest.fail(process.stderr.read()[-2000:])
        assert line.startswith("nnfit playground: open http://127.0.0.1:"), line
        url = line.split("open ", 1)[1].strip()
        assert "token=" in url
        with httpx.Client(timeout=20) as browser:
            assert browser.get(url.split("?")[0]).status_code == 403
            assert browser.get(url).status_code == 200
    finally:
        process.terminate()  # by its pid
        process.wait(timeout=20)


def test_serve_without_the_extra_says_how_to_install_it(monkeypatch, capsys):
    import nnfit.web

    monkeypatch.setattr(nnfit.web, "missing_extra", lambda: ["fastapi"])
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err == 'nnfit: error: nnfit serve needs the web extra: pip install "nnfit[web]"\n'


def test_binding_beyond_loopback_warns(monkeypatch, capsys):
    from nnfit.web import server

    class Quiet:
        def __init__(self, **kwargs):
            pass

        def run(self):
            pass

    monkeypatch.setattr(server, "Playground", Quiet)
    monkeypatch.setattr(server, "_warm_up", lambda: None)
    server.serve(host="0.0.0.0", port=0)
    assert "warning: listening on 0.0.0.0" in capsys.readouterr().err
    server.serve(host="127.0.0.1", port=0)
    assert "warning" not in capsys.readouterr().err


def test_closing_a_session_stops_its_run_and_forgets_the_session(client, server):
    session = new_session(client)
    long = {"steps": 20_000, "points": 50}
    run = client.post(f"/api/sessions/{session}/start", json={"settings": long}).json()["run"]
    playing = server.sessions.get(session).run
    assert client.post(f"/api/sessions/{session}/close").json() == {"state": "closed"}
    wait_for(lambda: playing.finished, 10)
    assert playing.state == "stopped"
    assert client.get(f"/api/sessions/{session}/runs/{run}").status_code == 404
    assert client.post(f"/api/sessions/{session}/close").status_code == 404  # said once


def test_a_killed_worker_fails_its_run_in_a_sentence_and_is_replaced():
    import signal

    from nnfit.web.pool import NoWorkers

    playground = Playground(port=0, sessions=Sessions(Caps(), fps=100.0, workers=1)).start()
    pool = playground.sessions.pool
    try:
        with httpx.Client(base_url=playground.base, timeout=20) as client:
            client.get(f"/?token={playground.token}")
            session = new_session(client)
            long = {"steps": 20_000, "points": 50}
            run = client.post(f"/api/sessions/{session}/start", json={"settings": long})
            first = read_events(client, session, run.json()["run"], stop_after=2)
            assert first[-1][0] == "frame"
            victim = pool.workers[0].process
            os.kill(victim.pid, signal.SIGKILL)
            done = read_events(client, session, run.json()["run"], last_id=first[-1][1])[-1]
            assert done[0] == "done" and done[2]["state"] == "failed"
            assert done[2]["error"] == (
                "the process training this run ended unexpectedly; press Play again"
            )
            wait_for(lambda: pool.workers[0].process is not victim)
            again = client.post(f"/api/sessions/{session}/start", json={"settings": QUICK})
            events = read_events(client, session, again.json()["run"])
            assert events[-1][2]["state"] == "done"
            survivors = [w.process for w in pool.workers]
    finally:
        playground.stop()
    for process in survivors:  # the server's end took its workers with it
        process.join(10)
        assert not process.is_alive()
    with pytest.raises(NoWorkers):  # a pool whose workers are all gone says so
        pool.run({})


def test_a_classroom_link_locks_its_settings_on_the_server(client, server):
    choice = {"values": {"lr": 0.1, "hidden": [4]}, "hide": ["optimizer"], "fix": ["lr", "hidden"]}
    code = client.post("/api/classroom", json=choice).json()["code"]
    with httpx.Client(base_url=server.base, timeout=20) as student:  # no token, only the link
        assert student.get("/api/settings").status_code == 403
        first = student.get(f"/?class={code}")
        assert first.status_code == 200
        assert f"nnfit-class-{server.port}=" in first.headers["set-cookie"]
        made = student.post("/api/sessions").json()  # the cookie now carries the link
        assert made["classroom"] == {**choice, "fixes_data": False}
        url = f"/api/sessions/{made['session']}"
        refused = student.post(f"{url}/setting", json={"name": "lr", "value": 0.5})
        assert refused.status_code == 400
        assert refused.json() == {
            "error": "lr is fixed at 0.1 by this classroom link, got 0.5",
            "setting": "lr",
            "code": "locked",  # the 中文 page words it from these
            "params": {"fixed": "0.1", "value": "0.5"},
        }
        hidden = student.post(f"{url}/start", json={"settings": {"optimizer": "adam"}})
        assert hidden.json()["setting"] == "optimizer"  # hidden: kept at the default, sgd
        free = student.post(f"{url}/setting", json={"name": "steps", "value": 7})
        assert free.status_code == 200
        assert free.json()["settings"] == {"lr": 0.1, "hidden": [4], "optimizer": "sgd", "steps": 7}
        run = student.post(f"{url}/start", json={"settings": {"steps": 7}}).json()["run"]
        assert read_events(student, made["session"], run)[-1][2]["state"] == "done"
        config = server.sessions.get(made["session"]).values
        assert config["lr"] == 0.1 and config["hidden"] == [4]  # what the run trained with
        again = student.post("/api/classroom", json={"values": {}, "hide": [], "fix": []})
        assert again.status_code == 403  # a student cannot make an unlocked link


def test_a_tampered_or_foreign_classroom_code_is_refused(client, server):
    import base64

    code = client.post("/api/classroom", json={"values": {"lr": 0.1}, "fix": ["lr"]}).json()
    payload, mac = code["code"].split(".")
    forged = json.dumps({"values": {"lr": 0.1}, "hide": [], "fix": []}).encode()
    tampered = base64.urlsafe_b64encode(forged).decode().rstrip("=") + "." + mac
    other = secrets.token_urlsafe(24)  # the token of another server: another key
    from nnfit.web.classroom import Classroom, key_for, sign

    foreign = sign(Classroom({"lr": 0.1}, (), ("lr",)), key_for(other))
    with httpx.Client(base_url=server.base, timeout=20) as student:
        for bad in (tampered, foreign, payload, "x" * 5000, f"{payload}.{mac}.x", "%00"):
            assert student.get("/", params={"class": bad}).status_code == 403, bad
            assert not student.cookies


def test_classroom_requests_are_checked(client):
    for body, problem in (
        ([], "a classroom link is {values, hide, fix}"),
        ({"values": 3}, "a classroom link's values must be a table of name: value"),
        ({"hide": "lr"}, "a classroom link's hide must be a list of setting names"),
        ({"fix": ["device"]}, "'device' in fix is not a setting of the page; use one of the "),
        ({"values": {"lr": -1}}, "lr must be a finite number above 0, got -1"),
    ):
        answer = client.post("/api/classroom", json=body)
        assert answer.status_code == 400 and answer.json()["error"].startswith(problem), body


MALFORMED_BODIES = [
    b"",
    b"{",
    b"not json",
    b"[]",
    b"null",
    b"123",
    b'"text"',
    b'{"settings": []}',
    b'{"settings": {"lr": "0.1; rm -rf /"}}',
    b'{"settings": {"lr": NaN}}',
    b'{"settings": {"lr": 1e999}}',
    b'{"settings": {"hidden": [1e9]}}',
    b'{"settings": {"points": 99999999999999999999999}}',
    b'{"settings": {"function": "__import__(\\"os\\").system(\\"true\\")"}}',
    b'{"settings": {"file": "/etc/passwd"}}',
    b'{"name": "file", "value": "../../etc/passwd"}',
    b'{"name": ["lr"], "value": 1}',
    b'{"speed": "1"}',
    b'{"values": {"function": "x"}, "hide": [1], "fix": null}',
    b"[" * 5000 + b"]" * 5000,
    '{"settings": {"function": "\u202e\u0000x"}}'.encode(),
    b"\xff\xfe\x00garbage",
]


def test_a_corpus_of_malformed_requests_gets_one_line_refusals_never_a_crash(client):
    session = new_session(client)
    routes = [
        "/api/sessions",
        "/api/classroom",
        f"/api/sessions/{session}/preview",
        f"/api/sessions/{session}/setting",
        f"/api/sessions/{session}/start",
        f"/api/sessions/{session}/speed",
        f"/api/sessions/{session}/pause",
        f"/api/sessions/{session}/nonsense",
        "/api/sessions/..%2F..%2Fetc%2Fpasswd/start",
        "/api/sessions/" + "a" * 3000 + "/start",
    ]
    for route in routes:
        for body in MALFORMED_BODIES:
            answer = client.post(route, content=body, headers={"Content-Type": "application/json"})
            assert answer.status_code in (200, 400, 404, 405, 413, 503), (route, body[:40])
            if answer.status_code != 200 and answer.headers["content-type"].startswith(
                "application/json"
            ):
                error = answer.json()["error"]
                assert isinstance(error, str) and "\n" not in error and len(error) < 300
    for route in (
        f"/api/sessions/{session}/runs/-1",
        f"/api/sessions/{session}/runs/abc/events",
        f"/api/sessions/{session}/runs/{'9' * 40}",
        "/api/sessions/%00/runs/1",
    ):
        answer = client.get(route)
        assert answer.status_code == 404, route
        assert "\n" not in answer.json()["error"]
    client.post(f"/api/sessions/{session}/reset")


def test_fifty_sessions_at_once_each_get_every_frame_and_leave_nothing_behind():
    """A bounded load on loopback (the timings are bench/bench_web_load.py's): 50 sessions
    train and stream at once through two worker processes; every stream gets each of its loss
    points exactly once and a done event, and once the tabs close no session or run is left."""
    import asyncio

    sessions = Sessions(Caps(), fps=100.0, max_runs=50, max_sessions=60, workers=2)
    playground = Playground(port=0, sessions=sessions).start()
    settings = {"steps": 30, "points": 50}

    async def one(client):
        session = (await client.post("/api/sessions")).json()["session"]
        start = await client.post(f"/api/sessions/{session}/start", json={"settings": settings})
        steps, done = [], None
        url = f"/api/sessions/{session}/runs/{start.json()['run']}/events"
        async with client.stream("GET", url) as answer:
            async for line in answer.aiter_lines():
                if line.startswith("data:"):
                    data = json.loads(line[5:])
                    steps += [p[0] for p in data.get("points", [])] if "points" in data else []
                    if "metrics" in data or "error" in data:
                        done = data
                        break
        await client.post(f"/api/sessions/{session}/close")
        return steps, done

    async def load():
        headers = {"Authorization": f"token {playground.token}"}
        limits = httpx.Limits(max_connections=60)
        async with httpx.AsyncClient(
            base_url=playground.base, headers=headers, limits=limits, timeout=60
        ) as client:
            return await asyncio.gather(*(one(client) for _ in range(50)))

    try:
        results = asyncio.run(load())
        for steps, done in results:
            assert steps == list(range(settings["steps"] + 1))
            assert done["state"] == "done"
        with sessions.lock:
            assert sessions.sessions == {}
        wait_for(lambda: all(not w.runs for w in sessions.pool.workers))
    finally:
        playground.stop()


# -- two inputs; refusals as data ----------------------------------------------------------------


def test_two_input_data_is_previewed_as_points_on_the_plane(client):
    from nnfit.data.dataset import split

    session = new_session(client)
    values = {"function": "sin(3*x1)*x2", "points": 60, "val": 0.25}
    data = client.post(f"/api/sessions/{session}/preview", json=values).json()
    x, y = nnfit.make_data(function="sin(3*x1)*x2", points=60, seed=0)
    assert data["inputs"] == 2 and data["names"] == ["x1", "x2"]
    assert data["x"] == [pytest.approx(pair) for pair in x.tolist()]
    assert data["y"] == pytest.approx(y[:, 0].tolist())
    held = set(split(60, 0.25, 0)[1].tolist())  # the run's own validation rows, hollow
    assert [i for i, flag in enumerate(data["val"]) if flag] == sorted(held)
    assert data["box"] == [
        pytest.approx([float(x[:, k].min()), float(x[:, k].max())]) for k in (0, 1)
    ]
    three = client.post(f"/api/sessions/{session}/preview", json={"function": "x1*x2*x3"})
    assert three.status_code == 400 and three.json()["code"] == "inputs"


def test_a_two_input_runs_frames_carry_its_prediction_on_a_coarse_mesh(client):
    session = new_session(client)
    settings = {**QUICK, "steps": 10, "function": "sin(3*x1)*x2"}
    run = client.post(f"/api/sessions/{session}/start", json={"settings": settings}).json()["run"]
    frames = [e[2] for e in read_events(client, session, run) if e[0] == "frame"]
    info = frames[0]["info"]
    mesh = info["grid"]
    assert info["inputs"] == 2 and set(mesh) == {"x1", "x2"}
    for axis in mesh.values():
        assert 10 <= len(axis) <= 40 and axis == sorted(axis)
    fits = [frame["fit"] for frame in frames if frame["fit"] is not None]
    assert all(len(fit) == len(mesh["x1"]) * len(mesh["x2"]) for fit in fits)
    assert fits[0] != fits[-1]  # the colours move as the network learns


def test_refusals_carry_a_message_code_and_its_parameters(client):
    session = new_session(client)
    lr = client.post(f"/api/sessions/{session}/setting", json={"name": "lr", "value": 0}).json()
    assert lr == {
        "error": "lr must be a finite number above 0, got 0",
        "setting": "lr",
        "code": "range",
        "params": {"above": 0, "value": "0"},
    }
    steps = client.post(f"/api/sessions/{session}/setting", json={"name": "steps", "value": 50000})
    assert steps.json()["code"] == "cap" and steps.json()["params"]["cap"] == 20000
    gone = client.post("/api/sessions/nosuch/start", json={})
    assert gone.status_code == 404 and gone.json()["code"] == "unknown_session"


# -- the session's own data: uploads and points edited on the chart ------------------------------


def oven_csv(rows=30, seed=0):
    """A small table as a lab would write it: time, temperature, and a text id."""
    import numpy as np

    rng = np.random.default_rng(seed)
    time = np.arange(float(rows))
    temp = 20 + 3 * np.sin(time / 5) + rng.normal(0, 0.1, rows)
    lines = [f"{t:g},{v:.4f},r{i}" for i, (t, v) in enumerate(zip(time, temp, strict=True))]
    return ("time,temp,id\n" + "\n".join(lines) + "\n").encode()


def handed(run):
    """The settings and rows a run was made with (a worker's run keeps its arguments)."""
    if hasattr(run, "arguments"):  # RemoteRun: trained in a worker process
        return run.arguments["config"], run.arguments["data"]
    return run.config, run.data


def upload(client, session, content, name="oven.csv"):
    return client.post(
        f"/api/sessions/{session}/upload",
        params={"name": name},
        content=content,
        headers={"content-type": "text/csv"},
    )


def choose(client, session, **values):
    for name, value in values.items():
        answer = client.post(
            f"/api/sessions/{session}/setting", json={"name": name, "value": value}
        )
        assert answer.status_code == 200, answer.text


def test_an_upload_is_read_as_nnfit_fit_reads_the_file(client, tmp_path):
    from nnfit.data.dataset import load_dataset
    from nnfit.data.synthetic import DataConfig

    session = new_session(client)
    content = oven_csv()
    answer = upload(client, session, content)
    assert answer.status_code == 200
    assert answer.json() == {"name": "oven.csv", "columns": ["time", "temp", "id"]}
    refused = client.post(f"/api/sessions/{session}/preview", json={})
    assert refused.status_code == 400  # three columns: the CLI asks for --x and --y
    line = "oven.csv has 3 columns (time, temp, id); choose them with --x and --y, "
    line += "e.g. --x time --y temp"
    assert refused.json() == {
        "error": line,
        "setting": "x",
        "code": "data",  # the 中文 page frames the reader's line
        "params": {"detail": line},
    }
    choose(client, session, x="time", y="temp")
    data = client.post(f"/api/sessions/{session}/preview", json={"x": "time", "y": "temp"}).json()
    path = tmp_path / "oven.csv"
    path.write_bytes(content)
    cli = load_dataset(DataConfig(file=str(path), x="time", y="temp"))  # nnfit fit's reading
    assert data["x"] == pytest.approx(cli.x[:, 0].tolist())
    assert data["y"] == pytest.approx(cli.y[:, 0].tolist())
    assert (data["kind"], data["x_names"], data["y_names"]) == ("upload", ["time"], ["temp"])


def test_a_run_on_an_upload_fits_exactly_its_rows_with_nnfit_fits_defaults(client, server):
    from nnfit.runs.config import DATA_PRESET, build_config

    session = new_session(client)
    assert upload(client, session, oven_csv()).status_code == 200
    settings = {"x": "time", "y": "temp", "steps": 40}
    shown = client.post(f"/api/sessions/{session}/preview", json=settings).json()
    start = client.post(f"/api/sessions/{session}/start", json={"settings": settings})
    kind, _, done = read_events(client, session, start.json()["run"])[-1]
    assert kind == "done" and done["state"] == "done", done
    assert "val" in done["metrics"]  # nnfit fit's validation share
    config, data = handed(server.sessions.get(session).run)
    assert data["x"][:, 0].tolist() == pytest.approx(shown["x"])  # the points drawn
    assert data["y"][:, 0].tolist() == pytest.approx(shown["y"])
    cli = build_config(DATA_PRESET, train={"steps": 40})  # nnfit fit FILE --steps 40
    assert config.model == cli.model
    assert config.data.val == cli.data.val == 0.2
    assert config.train.optimizer == cli.train.optimizer
    assert config.data.file is None  # the upload's name is never a path here


def test_two_x_columns_are_handed_on_as_two_inputs(client):
    session = new_session(client)
    content = b"a,b,c\n" + b"".join(f"{i},{i % 3},{i * i % 7}\n".encode() for i in range(12))
    assert upload(client, session, content, "grid.tsv").status_code == 200
    data = client.post(f"/api/sessions/{session}/preview", json={"x": "a,b", "y": "c"}).json()
    assert data["n_inputs"] == 2 and data["x"][4] == [4.0, 1.0] and data["y"][4] == 2.0


def test_an_upload_belongs_to_its_session_and_can_be_removed(client):
    mine, other = new_session(client), new_session(client)
    assert upload(client, mine, oven_csv()).status_code == 200
    choose(client, mine, x="time", y="temp")
    columns = {"x": "time", "y": "temp"}
    assert client.post(f"/api/sessions/{mine}/preview", json=columns).json()["kind"] == "upload"
    assert client.post(f"/api/sessions/{other}/preview", json={}).json()["kind"] == "function"
    assert client.post(f"/api/sessions/{mine}/upload/remove", json={}).status_code == 200
    data = client.post(f"/api/sessions/{mine}/preview", json={}).json()
    assert data["kind"] == "function" and len(data["x"]) == 100


def test_points_edited_are_the_sessions_data_until_the_data_changes(client, server):
    session = new_session(client)
    url = f"/api/sessions/{session}/points"
    first = client.post(f"/api/sessions/{session}/preview", json={}).json()
    added = client.post(url, json={"action": "add", "x": 0.5, "y": 2.0}).json()
    assert added["kind"] == "edited" and len(added["x"]) == 101
    assert (added["x"][-1], added["y"][-1]) == (0.5, 2.0)
    moved = client.post(url, json={"action": "move", "index": 0, "x": -0.9, "y": 1.5}).json()
    assert (moved["x"][0], moved["y"][0]) == (-0.9, 1.5)
    gone = client.post(url, json={"action": "delete", "index": 1}).json()
    assert gone["x"] == [-0.9, *first["x"][2:], 0.5]
    choose(client, session, lr=0.2)  # not a data setting: the edits stay
    preview = client.post(f"/api/sessions/{session}/preview", json={"lr": 0.2}).json()
    assert preview["x"] == gone["x"] and preview["y"] == gone["y"]

    run = client.post(f"/api/sessions/{session}/start", json={"settings": QUICK}).json()["run"]
    assert read_events(client, session, run)[-1][2]["state"] == "done"
    _, data = handed(server.sessions.get(session).run)
    assert data["x"][:, 0].tolist() == gone["x"] and data["y"][:, 0].tolist() == gone["y"]

    choose(client, session, seed=1)  # new data: the function's points again
    fresh = client.post(f"/api/sessions/{session}/preview", json={**QUICK, "seed": 1}).json()
    assert fresh["kind"] == "function" and len(fresh["x"]) == QUICK["points"]
    client.post(url, json={"action": "add", "x": 0.1, "y": 0.1})
    back = client.post(url, json={"action": "reset"}).json()
    assert back["kind"] == "function" and back["y"] == fresh["y"]


def binary_junk(size=512):
    import random

    return bytes(random.Random(0).randrange(128, 256) for _ in range(size))


BAD_UPLOADS = [  # (file name, content, status, setting, words of the one-line refusal)
    ("empty.csv", b"", 400, "file", "is empty"),
    ("junk.csv", binary_junk(), 400, "encoding", "not valid utf-8"),
    ("nul.csv", b"a,b\n1,2\x00\n3,4\n", 400, "file", "binary file"),
    ("latin.csv", "t,température\n1,2\n2,3\n".encode("latin-1"), 400, "encoding", "--encoding"),
    ("book.xlsx", b"a,b\n1,2\n", 400, "file", "text tables"),
    ("arrays.npz", b"PK\x03\x04", 400, "file", "text tables"),
    ("big.csv", b"a,b\n" + b"1,2\n" * (Caps().upload_bytes // 4), 413, None, "at most"),
]
BAD_CHOICES = [  # (a readable table, the choice, setting, words): refused when read for a run
    (b"a,b\n1,x\n2,3\n", {}, "file", "is not a number"),
    (b"a,b\n1,inf\n2,3\n3,4\n", {}, "file", "infinite"),
    (b"a,b\n1,\n2,3\n3,4\n", {}, "drop_missing", "--drop-missing"),
    (oven_csv(), {"x": "tme", "y": "temp"}, "x", "did you mean 'time'"),
    (oven_csv(), {"x": "9", "y": "temp"}, "x", "out of range"),
    (oven_csv(), {"x": "time,temp", "y": "time"}, "x", "both --x and --y"),
    (oven_csv(), {"x": "time", "y": "temp,id"}, "file", "is not a number"),
    (b"a,b,c,d\n" + b"1,2,3,4\n2,3,4,5\n4,1,5,3\n", {"x": "a,b,c"}, "x", "one or two x"),
    (b"a,b,c\n" + b"1,2,3\n2,3,4\n4,1,5\n", {"x": "a", "y": "b,c"}, "y", "one y column"),
    (b"a,b\n" + "".join(f"{i},{i % 7}\n" for i in range(5001)).encode(), {}, "file", "5,000"),
    (b"a,b\n1,2\n1,3\n", {}, "x", "same value in every row"),
]
BAD_EDITS = [
    {"action": "explode"},
    {"action": "add", "x": "inf", "y": 1},
    {"action": "add", "x": 1e39, "y": 1},
    {"action": "add", "x": True, "y": 1},
    {"action": "move", "index": 100, "x": 0, "y": 0},
    {"action": "move", "index": -1, "x": 0, "y": 0},
    {"action": "delete", "index": "0"},
    {"action": "delete"},
    [1, 2],
    "add",
    None,
]


def refused_in_one_line(answer, status, setting=..., words=""):
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert {"error", "setting"} <= set(body) and "\n" not in body["error"]
    assert "Traceback" not in body["error"] and words in body["error"], body
    if setting is not ...:
        assert body["setting"] == setting


@pytest.mark.parametrize(("name", "content", "status", "setting", "words"), BAD_UPLOADS)
def test_bad_uploads_are_refused_in_one_line(client, name, content, status, setting, words):
    session = new_session(client)
    refused_in_one_line(upload(client, session, content, name), status, setting, words)
    data = client.post(f"/api/sessions/{session}/preview", json={}).json()
    assert data["kind"] == "function"  # nothing was kept


@pytest.mark.parametrize(("content", "values", "setting", "words"), BAD_CHOICES)
def test_a_table_that_cannot_be_fitted_as_chosen_is_refused_in_one_line(
    client, content, values, setting, words
):
    session = new_session(client)
    assert upload(client, session, content).status_code == 200
    answer = client.post(f"/api/sessions/{session}/preview", json=values)
    refused_in_one_line(answer, 400, setting, words)
    start = client.post(f"/api/sessions/{session}/start", json={"settings": values})
    refused_in_one_line(start, 400, setting, words)


def test_malformed_upload_and_edit_requests_are_refused_in_one_line(client):
    session = new_session(client)
    for change in BAD_EDITS:
        refused_in_one_line(client.post(f"/api/sessions/{session}/points", json=change), 400)
    url = f"/api/sessions/{session}/points"
    for _ in range(98):
        client.post(url, json={"action": "delete", "index": 0})
    refused_in_one_line(client.post(url, json={"action": "delete", "index": 0}), 400, None, "2")

    def chunks():
        yield b"a,b\n1,2\n3,4\n"

    chunked = client.post(f"/api/sessions/{session}/upload", content=chunks())
    refused_in_one_line(chunked, 411, None, "Content-Length")
    refused_in_one_line(upload(client, "nosuch", oven_csv()), 404)
    refused_in_one_line(  # no column choice without a table
        client.post(f"/api/sessions/{session}/setting", json={"name": "x", "value": "a"}), 400, "x"
    )
    sneaky = upload(client, session, oven_csv(), name="../../etc/\x1b[2Joven.csv")
    assert sneaky.json()["name"] == "\\x1b[2Joven.csv"  # a name for messages, never a path


def test_an_upload_in_another_encoding_is_read_once_the_encoding_is_set(client):
    session = new_session(client)
    content = "t,température\n1,2\n2,3\n3,5\n".encode("latin-1")
    refused_in_one_line(upload(client, session, content), 400, "encoding", "latin-1")
    choose(client, session, encoding="latin-1")
    assert upload(client, session, content).json()["columns"] == ["t", "température"]
    data = client.post(f"/api/sessions/{session}/preview", json={"encoding": "latin-1"}).json()
    assert data["y_names"] == ["température"] and data["y"] == [2.0, 3.0, 5.0]


def test_an_uploaded_table_of_two_inputs_is_drawn_and_trained_as_a_plane(client):
    import numpy as np

    rng = np.random.default_rng(3)
    a, b = rng.uniform(-1, 1, 80), rng.uniform(-1, 1, 80)
    rows = "\n".join(f"{p:.4f},{q:.4f},{p * q:.4f}" for p, q in zip(a, b, strict=True))
    session = new_session(client)
    content = ("a,b,z\n" + rows + "\n").encode()
    assert upload(client, session, content, name="saddle.csv").status_code == 200
    data = client.post(
        f"/api/sessions/{session}/preview", json={"x": "a,b", "y": "z", "members": 1}
    ).json()
    assert data["inputs"] == 2 and data["names"] == ["a", "b"]  # the table's column names
    assert len(data["x"]) == 80 and sum(data["val"]) == 16  # the real-data preset's 0.2 held
    assert data["box"][0] == [pytest.approx(a.min(), abs=1e-4), pytest.approx(a.max(), abs=1e-4)]
    settings = {"x": "a,b", "y": "z", "steps": 8, "members": 1}
    run = client.post(f"/api/sessions/{session}/start", json={"settings": settings}).json()
    frames = [e[2] for e in read_events(client, session, run["run"]) if e[0] == "frame"]
    assert frames[0]["info"]["inputs"] == 2 and set(frames[0]["info"]["grid"]) == {"x1", "x2"}
    assert len(frames[-1]["fit"]) == len(frames[0]["info"]["grid"]["x1"]) * len(
        frames[0]["info"]["grid"]["x2"]
    )


def test_an_idle_worker_holding_memory_from_its_runs_is_replaced_by_a_fresh_one():
    """After a load, a worker with no run left and more memory than when it was warm ends,
    and a fresh one takes its place (so the server's memory goes back to where it was)."""
    playground = Playground(port=0, sessions=Sessions(Caps(), fps=200.0, workers=1)).start()
    pool = playground.sessions.pool
    try:
        pool.wait_ready()
        pool.recycle_mb = -1.0  # any worker that has trained counts as grown
        first = pool.workers[0].process
        with httpx.Client(base_url=playground.base, timeout=20) as client:
            client.get(f"/?token={playground.token}")
            session = new_session(client)
            run = client.post(f"/api/sessions/{session}/start", json={"settings": QUICK})
            assert read_events(client, session, run.json()["run"])[-1][2]["state"] == "done"
            assert pool.workers[0].process is first  # a session still holds its run
            client.post(f"/api/sessions/{session}/close")  # the tab goes: no run is left
            wait_for(lambda: pool.workers[0].process is not first)
            wait_for(lambda: not first.is_alive())  # the pool reaps it: poll, do not join
            assert first.exitcode == 0  # the old worker ended by request, not killed
            again = new_session(client)  # the fresh worker trains the next run
            run = client.post(f"/api/sessions/{again}/start", json={"settings": QUICK})
            assert read_events(client, again, run.json()["run"])[-1][2]["state"] == "done"
    finally:
        playground.stop()


def test_a_classroom_link_that_fixes_the_data_refuses_uploads_and_point_edits(client, server):
    choice = {"values": {"function": "sin"}, "hide": [], "fix": ["function"]}
    code = client.post("/api/classroom", json=choice).json()["code"]
    with httpx.Client(base_url=server.base, timeout=20) as student:
        student.get(f"/?class={code}")
        made = student.post("/api/sessions").json()
        assert made["classroom"]["fixes_data"] is True  # the page hides the upload box
        url = f"/api/sessions/{made['session']}"
        sent = student.post(
            f"{url}/upload", params={"name": "mine.csv"}, content=b"a,b\n1,2\n2,3\n3,5\n"
        )
        assert sent.status_code == 400 and sent.json()["code"] == "locked_data"
        assert sent.json()["error"] == (
            "this classroom link fixes the data (function): uploads and point edits are off"
        )
        moved = student.post(f"{url}/points", json={"action": "add", "x": 0.5, "y": 9.0})
        assert moved.status_code == 400 and moved.json()["setting"] == "function"
        assert student.post(f"{url}/points", json={"action": "reset"}).status_code == 200


def test_serve_on_a_taken_port_or_a_foreign_address_is_one_line(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
        err = capsys.readouterr().err
        assert err == (
            f"nnfit: error: port {port} on 127.0.0.1 is in use: choose another with --port "
            "(0 takes any free one)\n"
        )
    assert main(["serve", "--host", "192.0.2.1", "--port", "0"]) == 2  # TEST-NET: not ours
    assert capsys.readouterr().err.startswith(
        "nnfit: error: --host 192.0.2.1 is not an address of this machine"
    )
