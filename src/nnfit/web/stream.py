"""A run's frames as Server-Sent Events, through ``sse_starlette.EventSourceResponse``.

Each ``frame`` event carries the loss points recorded since the event before it and the newest
fit (thinned to ``playrun.MAX_CURVE`` points), and its ``id`` is the number of frames so far.
A browser's ``EventSource`` reconnects by itself after a dropped connection, sending the last
id it saw as ``Last-Event-ID``: the stream then goes on from there (the missed loss points in
one event), never from the start. Events go out at most ``fps * HEADROOM`` times a second
whatever the run does (a fast run's fits in between are skipped; its loss points are not).
The last event is ``done``, with the metrics and the diagnosis; the page answers it with
``close()``. While a stream is open the run counts it as watched (``PlayRun.attach``); when
the page goes away, sse-starlette ends the generator and the run stops after its grace period.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from sse_starlette import EventSourceResponse, ServerSentEvent

from .playrun import Batch

if TYPE_CHECKING:
    from .sessions import AnyRun

RETRY_MS = 300  # how soon a browser reconnects after a dropped stream (its default is ~3 s)
PING_S = 5  # keep-alive comments while a run is paused
# The stream may send a little faster than the run plays (fps), so that frames whose timing
# drifts against the stream's are not skipped; it never sends faster than this.
HEADROOM = 1.25


def last_event_id(value: str | None) -> int:
    """The frame a reconnecting page saw last (0 for none, or anything that is not an id)."""
    if value is None or not value.strip().isdigit() or len(value.strip()) > 12:
        return 0
    return int(value.strip())


def frame_event(batch: Batch, *, first: bool) -> ServerSentEvent:
    """One ``frame`` event: new loss points, the newest fit, and on a stream's first event the
    run's fixed facts (grid, noise floor, frame spacing, members)."""
    data: dict[str, Any] = {
        "step": batch.step,
        "state": batch.state,
        "points": batch.points,
        "fit": batch.fit,
        "std": batch.std,
    }
    if first:
        data["info"] = batch.info
    return ServerSentEvent(
        data=_json(data), id=str(batch.seq), event="frame", retry=RETRY_MS if first else None
    )


def done_event(batch: Batch) -> ServerSentEvent:
    """The last event: how the run ended, its metrics and diagnosis."""
    data = {"state": batch.state, "step": batch.step, **(batch.result or {})}
    return ServerSentEvent(data=_json(data), id=str(batch.seq + 1), event="done")


async def events(run: AnyRun, since: int, fps: float) -> AsyncIterator[ServerSentEvent]:
    """The run's events from frame ``since`` on, at most ``fps * HEADROOM`` a second, then
    ``done``."""
    run.attach()
    try:
        sent, first = since, True
        while True:
            batch = run.since(sent)
            if batch.seq > sent or (first and batch.info.get("grid")):
                yield frame_event(batch, first=first)
                sent, first = batch.seq, False
            if batch.result is not None and sent >= batch.seq:  # set as the run ends
                yield done_event(batch)
                return
            await asyncio.sleep(1.0 / (fps * HEADROOM))
    finally:
        run.detach()


def stream(run: AnyRun, last_id: str | None, fps: float) -> EventSourceResponse:
    """The SSE response for a run, resuming after ``Last-Event-ID`` when the page sends one."""
    return EventSourceResponse(
        events(run, last_event_id(last_id), fps),
        ping=PING_S,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), allow_nan=False)
