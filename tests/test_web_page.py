"""The playground's page in a real browser: Debian's chromium, driven by Playwright, headless.

One server and one browser for the module (a browser starts in about a second); each test has
its own page, so its own session. The browser is the system's ``chromium`` (apt), never one
Playwright downloads; ``scripts/system-deps.sh`` installs it. Every visit leaves a screenshot
in build/screenshots/ (a test artefact).
"""

import contextlib
import json
import shutil
import time
from pathlib import Path

import pytest

from nnfit.web.server import Playground
from nnfit.web.sessions import Sessions

CATALOGUES = Path(__file__).parent.parent / "src" / "nnfit" / "web" / "static" / "i18n"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 60_000  # a deadline for the page to get somewhere, not a timing
# Each visit's last look is kept as a screenshot (a test artefact; CI can upload the folder).
SCREENSHOTS = Path(__file__).parent.parent / "build" / "screenshots"
SHOTS: dict[str, int] = {}  # visits closed so far, by test


@pytest.fixture(scope="module")
def server():
    playground = Playground(port=0, sessions=Sessions(workers=1)).start()  # as nnfit serve
    yield playground
    playground.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail(
            "chromium is needed for the page tests and was not found; install it "
            "(Debian/Ubuntu: apt-get install chromium, or run scripts/system-deps.sh)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=exe, args=FLAGS, headless=True)
        yield browser
        browser.close()


class Visit:
    """A page of the playground with every console error and outside request noted."""

    def __init__(self, browser, server, locale="en-US", fragment=""):
        self.context = browser.new_context(locale=locale, viewport={"width": 1200, "height": 900})
        self.page = self.context.new_page()
        self.errors, self.outside = [], []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.context.route("**/*", self._route)
        self.base = server.base
        self.page.goto(server.url + fragment)
        self.page.wait_for_selector("body[data-ready=yes]", timeout=WAIT_MS)

    def _console(self, message):
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.base + "/") or url.startswith("data:"):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def close(self):
        """Keep a screenshot of the page as it is now (named by the test), then close it."""
        import os

        test = os.environ.get("PYTEST_CURRENT_TEST", "page").split(" ")[0]
        name = test.rsplit("::", 1)[-1].replace("[", "-").replace("]", "")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        SHOTS[name] = SHOTS.get(name, 0) + 1  # a test's second visit is NAME-2.png
        name += f"-{SHOTS[name]}" if SHOTS[name] > 1 else ""
        with contextlib.suppress(Exception):  # a closed page has no picture: nothing to keep
            self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        self.context.close()


@pytest.fixture
def visit(browser, server):
    opened = Visit(browser, server)
    yield opened
    opened.close()


def expect(locator):
    """Playwright's retrying assertions (no page-side eval: the page's CSP forbids it)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def text(page, selector):
    return page.locator(selector).inner_text().strip()


def test_the_page_loads_with_no_console_errors_and_no_outside_requests(visit):
    assert visit.errors == [] and visit.outside == []
    assert visit.page.url == visit.base + "/"  # the token left the address bar
    assert visit.page.locator("#form .field").count() > 10  # the form, from the table
    assert visit.page.locator(".uplot").count() == 2


def test_the_data_is_drawn_before_training(visit):
    page = visit.page
    assert page.get_attribute("#fit-chart", "data-points") == "100"
    assert page.get_attribute("#loss-chart", "data-points") == "0"
    page.fill("#setting-points", "40")
    page.press("#setting-points", "Tab")
    page.wait_for_selector("#fit-chart[data-points='40']", timeout=WAIT_MS)
    first = page.get_attribute("#fit-chart", "data-y")
    page.click("#regenerate")  # new noise: the next seed
    expect(page.locator("#setting-seed")).to_have_value("1")
    expect(page.locator("#fit-chart")).not_to_have_attribute("data-y", first)


def test_the_lesson_plays_to_the_end_with_its_loss_curve(visit):
    page = visit.page
    page.click("#play")
    page.wait_for_selector("body[data-state=done]", timeout=WAIT_MS)
    expect(page.locator("#step-count")).to_have_text("100")
    assert page.get_attribute("#loss-chart", "data-points") == "101"  # steps 0 to 100
    first = float(page.get_attribute("#loss-chart", "data-first"))
    last = float(page.get_attribute("#loss-chart", "data-last"))
    assert last < 0.05 < first  # the loss fell below the threshold (the noise floor: ~0.0033)
    assert page.locator("#result").is_visible()
    assert float(text(page, "#rmse")) > 0
    assert -1 <= float(text(page, "#r2")) <= 1
    assert text(page, "#diagnosis")
    assert visit.errors == [] and visit.outside == []


def test_the_runs_of_a_tab_are_compared_in_a_table(visit):
    page = visit.page
    page.select_option("#speed", "10")  # ten times 25 frames a second: a quick lesson
    page.click("#play")
    page.wait_for_selector("body[data-state=done]", timeout=WAIT_MS)
    page.fill("#setting-lr", "0.2")
    page.press("#setting-lr", "Tab")
    page.wait_for_url("**/#lr=0.2", timeout=WAIT_MS)
    page.click("#play")
    rows = page.locator("#runs-table tbody tr")
    expect(rows).to_have_count(2, timeout=WAIT_MS)
    expect(rows.nth(1).locator("td").nth(1)).to_have_text("lr 0.2")
    expect(rows.nth(0).locator("td").nth(4)).to_have_text("100")
    assert float(rows.nth(1).locator("td").nth(2).inner_text()) > 0  # an RMSE
    assert visit.errors == []


def test_a_refused_setting_is_shown_under_its_field(visit):
    page = visit.page
    page.fill("#setting-lr", "0")
    page.press("#setting-lr", "Tab")
    note = page.locator('.field[data-setting="lr"] .note')
    note.wait_for(state="visible", timeout=WAIT_MS)
    assert note.inner_text() == "lr must be a finite number above 0, got 0"


def test_neurons_and_layers_change_with_plus_and_minus(visit):
    page = visit.page
    page.click(".layer .more")
    expect(page.locator(".layer output")).to_have_text("11")
    page.click(".add-layer")
    expect(page.locator(".layer output")).to_have_text(["11", "11"])
    page.click(".layer >> nth=1 >> .fewer")
    expect(page.locator(".layer output")).to_have_text(["11", "10"])
    page.click(".remove-layer")
    expect(page.locator(".layer output")).to_have_text(["11"])
    assert visit.errors == []


def test_a_link_on_another_site_opens_the_page(browser, server, tmp_path):
    """A classroom link: the token in the link lets the page in, though the SameSite cookie
    is not sent on a navigation that starts on another site."""
    import functools
    import http.server
    import threading

    (tmp_path / "index.html").write_text(f'<a id="go" href="{server.url}">playground</a>')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"http://localhost:{other.server_address[1]}/index.html")
        page.click("#go")
        page.wait_for_selector("body[data-ready=yes]", timeout=WAIT_MS)
        assert page.get_attribute("#fit-chart", "data-points") == "100"
    finally:
        context.close()
        other.shutdown()
        thread.join(10)


def test_a_link_carries_the_experiment_and_the_page_keeps_its_link_current(browser, server):
    visit = Visit(browser, server, fragment="#lr=0.2&hidden=20,20&points=40&function=sin(3*x)")
    try:
        page = visit.page
        expect(page.locator("#setting-lr")).to_have_value("0.2")
        expect(page.locator(".layer output")).to_have_text(["20", "20"])
        expect(page.locator("#formula")).to_have_value("sin(3*x)")
        assert page.get_attribute("#fit-chart", "data-points") == "40"
        page.fill("#setting-steps", "50")
        page.press("#setting-steps", "Tab")
        page.wait_for_url("**/#*steps=50*", timeout=WAIT_MS)
        assert "token" not in page.url and "lr=0.2" in page.url
        assert visit.errors == []
    finally:
        visit.close()
    refused = Visit(browser, server, fragment="#lr=0&points=30")
    try:
        note = refused.page.locator('.field[data-setting="lr"] .note')
        expect(note).to_have_text("lr must be a finite number above 0, got 0")
        expect(refused.page.locator("#setting-lr")).to_have_value("0.5")  # the default stays
        assert refused.page.get_attribute("#fit-chart", "data-points") == "30"
    finally:
        refused.close()


def test_a_classroom_link_hides_some_settings_and_fixes_others(browser, server):
    fragment = "#lr=0.1&fix=lr,hidden,seed&hide=optimizer,members"
    visit = Visit(browser, server, fragment=fragment)
    try:
        page = visit.page
        expect(page.locator("#setting-lr")).to_have_value("0.1")
        expect(page.locator("#setting-lr")).to_be_disabled()
        expect(page.locator(".layer .more")).to_be_disabled()
        expect(page.locator("#regenerate")).to_be_disabled()
        expect(page.locator('.field[data-setting="optimizer"]')).to_be_hidden()
        expect(page.locator('.field[data-setting="members"]')).to_be_hidden()
        expect(page.locator("#setting-steps")).to_be_enabled()
        page.fill("#setting-steps", "50")
        page.press("#setting-steps", "Tab")
        page.wait_for_url("**/#*steps=50*", timeout=WAIT_MS)
        assert "fix=lr%2Chidden%2Cseed" in page.url and "hide=optimizer%2Cmembers" in page.url
        assert visit.errors == []
    finally:
        visit.close()


def test_the_language_follows_the_browser_and_switches_on_the_page(browser, server):
    zh = json.loads((CATALOGUES / "zh.json").read_text(encoding="utf-8"))
    en = json.loads((CATALOGUES / "en.json").read_text(encoding="utf-8"))
    visit = Visit(browser, server, locale="zh-CN")
    try:
        page = visit.page
        assert text(page, "h1") == zh["title"]
        assert page.get_attribute("html", "lang") == "zh-CN"
        assert text(page, "#play") == zh["play"]
        page.select_option("#lang", "en")
        expect(page.locator("h1")).to_have_text(en["title"])
        assert text(page, "#play") == en["play"]
        assert text(page, '.field[data-setting="lr"] label') == en["setting.lr"]
        assert visit.errors == []
    finally:
        visit.close()


def test_a_page_that_goes_away_ends_its_session(visit, server):
    page = visit.page
    page.click("#play")
    page.wait_for_selector("body[data-state=running], body[data-state=done]", timeout=WAIT_MS)
    sessions = server.sessions
    with sessions.lock:
        before = set(sessions.sessions)
    page.goto("about:blank")  # the tab leaves: the page says so with a beacon
    deadline = time.monotonic() + 20
    while True:
        with sessions.lock:
            gone = before - set(sessions.sessions)
        if gone or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(gone) == 1


# ----- downloads and races on the page (exports.js, race.js) -----


def test_the_runs_gif_downloads_from_the_page(visit):
    page = visit.page
    assert page.get_attribute("#export-gif", "href") is None  # no run yet: nothing to save
    page.select_option("#speed", "10")
    page.click("#play")
    page.wait_for_selector("body[data-state=done]", timeout=WAIT_MS)
    with page.expect_download(timeout=WAIT_MS) as info:
        page.click("#export-gif")
    download = info.value
    assert download.suggested_filename == "nnfit-fit.gif"
    assert Path(download.path()).read_bytes()[:6] == b"GIF89a"
    assert visit.errors == [] and visit.outside == []


def test_a_race_plays_with_its_legend_and_ends_with_its_table(visit):
    page = visit.page
    page.select_option("#speed", "10")
    page.select_option("#race-setting", "lr")
    page.fill("#race-values", "0.5,0.1")
    page.click("#race-start")
    page.wait_for_selector("body[data-state=done]", timeout=WAIT_MS)
    expect(page.locator("#race-legend li")).to_have_text(["lr 0.5", "lr 0.1"])
    assert page.locator("#fit-chart").is_hidden() and page.locator("#race-fit-chart").is_visible()
    assert page.get_attribute("#race-loss-chart", "data-points") == "101"  # steps 0 to 100
    rows = page.locator("#race-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td").nth(0)).to_have_text("lr 0.5")
    assert text(page, "#race-winner")
    assert page.get_attribute("#export-zip", "href") is None  # a race has no single model
    assert page.get_attribute("#export-gif", "href") is not None
    assert visit.errors == [] and visit.outside == []


def test_the_lessons_optimiser_race_is_one_click(visit):
    page = visit.page
    page.select_option("#speed", "10")
    page.click("#race-preset")
    expect(page.locator("#race-legend li")).to_have_text(
        ["sgd", "momentum", "rmsprop", "adam"], timeout=WAIT_MS
    )
    page.wait_for_selector("body[data-state=done]", timeout=WAIT_MS)
    expect(page.locator("#race-table tbody tr")).to_have_count(4)
    assert page.input_value("#setting-points") == "1000"  # the lesson's data for this race
    page.click("#play")  # a plain run again: the race's charts go
    expect(page.locator("#race-view")).to_be_hidden()
    assert visit.errors == []


def test_a_teacher_makes_a_classroom_link_that_locks_a_students_page(browser, server):
    teacher = Visit(browser, server)
    student = browser.new_context(viewport={"width": 1200, "height": 900})  # no token cookie
    try:
        page = teacher.page
        page.fill("#setting-lr", "0.2")
        page.press("#setting-lr", "Tab")
        page.wait_for_url("**/#*lr=0.2*", timeout=WAIT_MS)
        page.click("#classroom summary")
        page.check('#classroom-table tr[data-setting="optimizer"] .hide')
        page.check('#classroom-table tr[data-setting="lr"] .fix')
        page.click("#classroom-make")
        expect(page.locator("#classroom-url")).to_be_visible()
        link = page.input_value("#classroom-url")
        assert link.startswith(server.base + "/?class=") and "lr=0.2" in link
        assert server.token not in link
        expect(page.locator("#setting-lr")).to_be_enabled()  # the teacher's page stays open

        seen = student.new_page()
        errors = []
        seen.on("pageerror", lambda error: errors.append(str(error)))
        seen.goto(link)
        seen.wait_for_selector("body[data-ready=yes]", timeout=WAIT_MS)
        expect(seen.locator("#setting-lr")).to_have_value("0.2")
        expect(seen.locator("#setting-lr")).to_be_disabled()
        expect(seen.locator('.field[data-setting="optimizer"]')).to_be_hidden()
        expect(seen.locator("#classroom")).to_be_hidden()  # students make no links
        expect(seen.locator("#data-box")).to_be_visible()  # the data is not fixed: upload away
        assert "class=" not in seen.url  # the cookie keeps the link's code
        seen.click("#play")
        seen.wait_for_selector("body[data-state=done]", timeout=WAIT_MS)
        assert errors == [] and teacher.errors == []
    finally:
        student.close()
        teacher.close()


# -- two inputs: the heatmap; the 中文 page's help and refusals ----------------------------------


def test_two_inputs_are_drawn_as_a_heatmap_that_moves_as_training_goes(browser, server):
    visit = Visit(browser, server, fragment="#function=sin(3*x1)*x2&points=200&val=0.2")
    try:
        page = visit.page
        plane, canvas = page.locator("#plane-chart"), page.locator("#plane-chart canvas")
        expect(plane).to_be_visible()
        expect(page.locator("#fit-chart")).to_be_hidden()
        assert plane.get_attribute("data-points") == "200"
        assert plane.get_attribute("data-val") == "40"  # hollow: the validation share
        before = canvas.screenshot()  # the points on the plane, nothing fitted yet
        page.click("#step")  # a run that starts paused: its first frame
        page.wait_for_selector("#plane-chart[data-heat=yes]", timeout=WAIT_MS)
        expect(page.locator("body")).to_have_attribute("data-state", "paused", timeout=WAIT_MS)
        first = canvas.screenshot()
        page.click("#play")
        page.wait_for_selector("body[data-state=done]", timeout=WAIT_MS)
        last = canvas.screenshot()
        assert before != first and first != last  # the colours follow the training
        assert int(plane.get_attribute("data-frames")) >= 2
        assert int(page.get_attribute("#loss-chart", "data-points")) > 50  # the loss chart stays
        assert visit.errors == [] and visit.outside == []
    finally:
        visit.close()


def test_more_than_two_inputs_are_refused_under_the_function(visit):
    page = visit.page
    page.select_option("#setting-function", "__formula__")
    page.fill("#formula", "x1*x2*x3")
    page.press("#formula", "Tab")
    note = page.locator('.field[data-setting="function"] .note')
    expect(note).to_contain_text("one or two inputs", timeout=WAIT_MS)
    expect(page.locator("#plane-chart")).to_be_hidden()


def test_a_chinese_page_words_refusals_and_help_in_chinese(browser, server):
    zh = json.loads((CATALOGUES / "zh.json").read_text(encoding="utf-8"))
    visit = Visit(browser, server, locale="zh-CN")
    try:
        page = visit.page
        label = page.locator('.field[data-setting="lr"] label')
        assert label.get_attribute("title") == zh["help.lr"]
        page.fill("#setting-steps", "50000")
        page.press("#setting-steps", "Tab")
        note = page.locator('.field[data-setting="steps"] .note')
        cap = zh["error.cap"].format(setting=zh["setting.steps"], cap=20000, value=50000)
        expect(note).to_have_text(cap, timeout=WAIT_MS)
        page.fill("#setting-lr", "0")
        page.press("#setting-lr", "Tab")
        bounds = zh["bound.above"].format(above=0)
        words = zh["error.range"].format(setting=zh["setting.lr"], bounds=bounds, value=0)
        expect(page.locator('.field[data-setting="lr"] .note')).to_have_text(words)
        page.select_option("#lang", "en")  # English: the table's help, the server's lines
        expect(label).to_have_attribute("title", "learning rate")
        expect(note).to_have_text(  # the refusal shown is worded again in the new language
            "steps must be at most 20000 on this server, got 50000"
        )
        page.select_option("#lang", "zh")
        expect(note).to_have_text(cap)
        page.select_option("#lang", "en")
        page.fill("#setting-lr", "-1")
        page.press("#setting-lr", "Tab")
        expect(page.locator('.field[data-setting="lr"] .note')).to_have_text(
            "lr must be a finite number above 0, got -1"
        )
        assert [e for e in visit.errors if "status of 400" not in e] == []  # refusals are 400s
    finally:
        visit.close()


def test_two_input_examples_are_offered_beside_the_built_in_functions(visit):
    page = visit.page
    expect(page.locator("#fit-chart")).to_be_visible()
    page.select_option("#setting-function", "x1*x2")
    expect(page.locator("#plane-chart")).to_be_visible()  # the data of two inputs, as a plane
    expect(page.locator("#formula")).to_be_hidden()
    page.wait_for_url("**/#*function=x1*", timeout=WAIT_MS)
    page.select_option("#setting-function", "quadratic")
    expect(page.locator("#plane-chart")).to_be_hidden()
    assert visit.errors == []


# -- the session's own data: an uploaded table, points edited on the chart ------------------------


def handed(run):
    """The settings and rows a run was made with (a worker's run keeps its arguments)."""
    if hasattr(run, "arguments"):  # RemoteRun: trained in a worker process
        return run.arguments["config"], run.arguments["data"]
    return run.config, run.data


def session_of(server, predicate):
    """The one session of the page server that ``predicate`` picks (the page's own)."""
    found = [s for s in list(server.sessions.sessions.values()) if predicate(s)]
    assert len(found) == 1
    return found[0]


def test_an_uploaded_table_is_drawn_its_columns_chosen_and_trained_on(visit, server, tmp_path):
    import numpy as np

    page = visit.page
    en = json.loads((CATALOGUES / "en.json").read_text(encoding="utf-8"))
    cap = server.sessions.caps.upload_bytes
    big = {"name": "big.csv", "mimeType": "text/csv", "buffer": b"1,2\n" * (cap // 4 + 1)}
    page.set_input_files("#upload-file", files=[big])  # refused by the page before it is sent
    expect(page.locator("#upload-problem")).to_have_text(
        en["upload.too_big"].replace("{bytes}", f"{cap:,}")
    )
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(128, 256)) * 4)
    page.set_input_files("#upload-file", str(junk))
    expect(page.locator("#upload-problem")).to_contain_text("not valid utf-8")  # the reader's line
    assert page.get_attribute("#fit-chart", "data-points") == "100"  # the function's, still

    rng = np.random.default_rng(0)
    time = np.arange(30.0)
    temp = 20 + 3 * np.sin(time / 5) + rng.normal(0, 0.1, 30)
    table = tmp_path / "oven.csv"
    rows = [f"{t:g},{v:.4f},r{i}" for i, (t, v) in enumerate(zip(time, temp, strict=True))]
    table.write_text("time,temp,id\n" + "\n".join(rows) + "\n", encoding="utf-8")
    page.set_input_files("#upload-file", str(table))
    expect(page.locator("#upload-problem")).to_contain_text("choose them with --x and --y")
    expect(page.locator("#fit-chart")).to_have_attribute("data-points", "0")  # nothing chosen yet
    expect(page.locator("#data-kind")).to_have_text("oven.csv")
    expect(page.locator("#setting-optimizer")).to_have_value("adam")  # nnfit fit FILE's defaults
    page.select_option("#upload-y", "temp")
    page.select_option("#upload-x", ["time"])
    expect(page.locator("#fit-chart")).to_have_attribute("data-points", "30")
    expect(page.locator("#upload-problem")).to_have_text("")
    shown_y = [float(v) for v in page.get_attribute("#fit-chart", "data-y").split(",")]
    assert shown_y == pytest.approx(temp[:3], abs=1e-4)  # the file's first y values, drawn

    page.fill("#setting-steps", "150")
    page.press("#setting-steps", "Tab")
    page.select_option("#speed", "10")
    page.click("#play")
    page.wait_for_selector("body[data-state=done]", timeout=WAIT_MS)
    assert float(text(page, "#rmse")) > 0
    session = session_of(server, lambda s: s.upload is not None and s.upload.name == "oven.csv")
    config, data = handed(session.run)
    assert data["x"][:, 0] == pytest.approx(time)  # the run fitted the table
    assert data["y"][:, 0] == pytest.approx(temp, abs=1e-4)
    assert config.train.optimizer == "adam" and config.train.steps == 150
    refused = "the server responded with a status of 400"  # the junk and the column choice
    assert [e for e in visit.errors if refused not in e] == [] and visit.outside == []


def test_points_added_moved_and_deleted_on_the_chart_are_the_ones_trained_on(visit, server):
    page = visit.page
    box = page.locator("#fit-chart .u-over").bounding_box()
    top = (box["x"] + 0.5 * box["width"], box["y"] + 0.08 * box["height"])  # above the parabola
    page.mouse.click(*top)  # a click on the chart adds a point
    expect(page.locator("#fit-chart")).to_have_attribute("data-points", "101")
    expect(page.locator("#data-kind")).to_have_text("edited")
    session = session_of(
        server, lambda s: s.edited is not None and s.upload is None and s.run is None
    )
    added = (session.edited.x[-1], session.edited.y[-1])
    assert -0.2 < added[0] < 0.2 and added[1] > 1.2  # where the click was

    right = (box["x"] + 0.75 * box["width"], top[1])
    page.mouse.move(*top)
    page.mouse.down()
    page.mouse.move(*right, steps=4)
    page.mouse.up()  # a drag moves the point
    expect(page.locator("#fit-chart")).to_have_attribute("data-edits", "2")
    expect(page.locator("#fit-chart")).to_have_attribute("data-points", "101")
    assert session.edited.x[-1] > 0.3 and session.edited.y[-1] == pytest.approx(added[1])

    page.mouse.click(*right, button="right")  # a right-click deletes it
    expect(page.locator("#fit-chart")).to_have_attribute("data-points", "100")
    page.mouse.click(*top)
    expect(page.locator("#fit-chart")).to_have_attribute("data-points", "101")
    page.select_option("#speed", "10")
    page.click("#play")
    page.wait_for_selector("body[data-state=done]", timeout=WAIT_MS)
    _, data = handed(session.run)
    assert len(data["x"]) == 101  # the run fitted the points shown
    assert tuple(data["x"][:, 0]) == session.edited.x
    assert tuple(data["y"][:, 0]) == session.edited.y

    page.click("#regenerate")  # new data: the function's points again
    expect(page.locator("#fit-chart")).to_have_attribute("data-points", "100")
    expect(page.locator("#data-kind")).to_have_text("")
    expect(page.locator("#chart-hint")).to_be_visible()
    assert visit.errors == [] and visit.outside == []


def test_a_two_column_table_dropped_on_the_chart_is_drawn_as_the_cli_chooses(visit):
    page = visit.page
    transfer = page.evaluate_handle(  # a file dragged from the desktop, as the browser hands it
        """() => {
            const data = new DataTransfer();
            const table = "a,b\\n1,2\\n2,3\\n3,5\\n4,4\\n";
            data.items.add(new File([table], "two.csv", { type: "text/csv" }));
            return data;
        }"""
    )
    page.dispatch_event("#fit-chart", "drop", {"dataTransfer": transfer})
    expect(page.locator("#fit-chart")).to_have_attribute("data-points", "4")  # no choice needed
    expect(page.locator("#data-kind")).to_have_text("two.csv")
    expect(page.locator("#upload-y")).to_have_value("b")  # x first, y second, as nnfit fit
    assert page.get_attribute("#fit-chart", "data-y") == "2.0000,3.0000,5.0000"
    page.click("#upload-remove")  # back to the function: the lesson's points and settings
    expect(page.locator("#fit-chart")).to_have_attribute("data-points", "100")
    expect(page.locator("#setting-optimizer")).to_have_value("sgd")
    assert visit.errors == [] and visit.outside == []


def test_each_layer_chooses_its_activation_and_the_run_plays_with_them(visit):
    page = visit.page
    choosers = page.locator(".layer-activation")
    page.click(".add-layer")
    expect(choosers).to_have_count(2)
    page.select_option(".layer >> nth=1 >> .layer-activation", "tanh")
    page.wait_for_url("**/#*activation=relu%2Ctanh*", timeout=WAIT_MS)
    expect(page.locator("#setting-activation")).to_have_value("")  # reads "per layer"
    page.click(".add-layer")  # the new layer takes the last one's activation, in one change
    expect(choosers).to_have_count(3)
    expect(choosers.nth(2)).to_have_value("tanh")
    page.wait_for_url("**/#*activation=relu%2Ctanh%2Ctanh*", timeout=WAIT_MS)
    page.click(".remove-layer")
    expect(choosers).to_have_count(2)
    page.wait_for_url("**/#hidden=10%2C10&activation=relu%2Ctanh", timeout=WAIT_MS)
    page.select_option("#speed", "10")
    page.click("#play")
    page.wait_for_selector("body[data-state=done]", timeout=WAIT_MS)
    expect(page.locator("#step-count")).to_have_text("100")
    row = page.locator("#runs-table tbody tr").nth(0)
    expect(row.locator("td").nth(1)).to_have_text("hidden 10,10, activation relu,tanh")
    page.select_option("#setting-activation", "sigmoid")  # one for every layer
    expect(choosers.nth(0)).to_have_value("sigmoid")
    expect(choosers.nth(1)).to_have_value("sigmoid")
    page.wait_for_url("**/#hidden=10%2C10&activation=sigmoid", timeout=WAIT_MS)
    assert visit.errors == [] and visit.outside == []


def test_a_link_carries_one_activation_per_layer(browser, server):
    visit = Visit(browser, server, fragment="#hidden=8,8&activation=tanh,relu")
    try:
        page = visit.page
        expect(page.locator(".layer output")).to_have_text(["8", "8"])
        expect(page.locator(".layer-activation").nth(0)).to_have_value("tanh")
        expect(page.locator(".layer-activation").nth(1)).to_have_value("relu")
        expect(page.locator("#setting-activation")).to_have_value("")
        assert visit.errors == []
    finally:
        visit.close()


def test_a_classroom_link_that_fixes_the_data_hides_the_upload_and_the_editing(browser, server):
    import httpx

    headers = {"Authorization": f"token {server.token}"}
    choice = {"values": {"function": "sin"}, "fix": ["function"]}
    code = httpx.post(f"{server.base}/api/classroom", json=choice, headers=headers).json()["code"]
    student = browser.new_context()
    try:
        page = student.new_page()
        page.goto(f"{server.base}/?class={code}")
        page.wait_for_selector("body[data-ready=yes]", timeout=WAIT_MS)
        expect(page.locator("#setting-function")).to_be_disabled()
        expect(page.locator("#data-box")).to_be_hidden()
        expect(page.locator("#chart-hint")).to_be_hidden()
    finally:
        student.close()
