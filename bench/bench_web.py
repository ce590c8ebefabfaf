"""The playground in a real browser: frames per second of the lesson, and how soon a run stops
after its page goes away.

A ``Playground`` serves on a free loopback port from this process; Debian's ``chromium``
(headless, driven by Playwright) loads the page and plays the lesson (100 steps of SGD, one
frame per step). The page counts the SSE ``frame`` events it receives and the charts' redraws
(one per animation frame with something new); events per second is (events - 1) over the time
from the first to the last. Then "leave": a long run plays, the page is closed, and the time
until the server's run has stopped is measured. Rounds are interleaved; best and median shown.

Run:  python bench/bench_web.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def play_lesson(browser: object, url: str) -> dict[str, float]:
    """One lesson played in a fresh page: events/s, draws/s, seconds to load the page."""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("body[data-ready=yes]", timeout=60_000)
    loaded = time.perf_counter() - started
    page.click("#play")
    page.wait_for_selector("body[data-state=done]", timeout=120_000)
    time.sleep(0.1)  # the last animation frame
    stats = page.evaluate("() => ({...document.body.dataset})")
    context.close()
    span = float(stats["eventSpan"]) / 1000
    events, draws = int(stats["events"]), int(stats["draws"])
    return {
        "events/s": (events - 1) / span,
        "draws/s": (draws - 1) / span,
        "events": events,
        "page load s": loaded,
    }


def leave(browser: object, playground: object) -> float:
    """Seconds from closing a page that plays a long run to that run's stop."""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(playground.url)  # type: ignore[attr-defined]
    page.wait_for_selector("body[data-ready=yes]", timeout=60_000)
    page.fill("#setting-steps", "20000")
    page.press("#setting-steps", "Tab")
    time.sleep(0.3)
    page.click("#play")
    page.wait_for_selector("body[data-state=running]", timeout=60_000)
    time.sleep(1.0)
    sessions = playground.sessions.sessions  # type: ignore[attr-defined]
    runs = [s.run for s in sessions.values() if s.run is not None and not s.run.finished]
    assert len(runs) == 1, "one run should be playing"
    run = runs[0]
    closed = time.perf_counter()
    context.close()
    while not run.finished:
        time.sleep(0.005)
    return time.perf_counter() - closed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from nnfit.web.server import Playground, default_workers
    from nnfit.web.sessions import Sessions

    sessions = Sessions(workers=default_workers())  # as nnfit serve has it
    playground = Playground(port=0, sessions=sessions).start()
    results: dict[str, list[float]] = {}
    try:
        with sync_playwright() as playwright:
            exe = shutil.which("chromium")
            browser = playwright.chromium.launch(executable_path=exe, args=FLAGS)
            play_lesson(browser, playground.url)  # warm-up: torch's imports, the first run
            for _ in range(args.rounds):
                for key, value in play_lesson(browser, playground.url).items():
                    results.setdefault(key, []).append(value)
                results.setdefault("stop after leaving, s", []).append(leave(browser, playground))
            browser.close()
    finally:
        playground.stop()
    print(f"playground, lesson (100 steps, 101 frames), {args.rounds} rounds")
    print("| measure | best | median |")
    print("|---|---|---|")
    for key, values in results.items():
        best = max(values) if key.endswith("/s") or key == "events" else min(values)
        print(f"| {key} | {best:.3g} | {statistics.median(values):.3g} |")


if __name__ == "__main__":
    main()
