"""The playground's HTTP routes: the page, the settings form, sessions, controls and streams.

Controls are plain POSTs that answer at once; training happens in each run's worker thread
(``nnfit.web.playrun``), and making a preview's data in FastAPI's thread pool (plain ``def``
routes), never on the event loop. Every refusal is JSON ``{"error": one line, "setting": name
or null}`` with status 400 (a setting), 404 (no such session or run), 413 (an upload over the
cap) or 503 (server busy).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Body, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import NNFitError
from .classroom import key_for, parse_request, sign
from .exports import ExportBusy, NotReady, check_batch
from .form import (
    Caps,
    Refused,
    build_run_config,
    check_inputs,
    data_defaults,
    form_table,
    refusal,
)
from .plane import plane_preview
from .playdata import MAKES_DATA, data_json, refused, session_dataset, too_big
from .playrun import SPEEDS
from .racing import race_offer
from .security import MAX_BODY, Guard
from .sessions import Busy, PlaySession, Sessions, UnknownSession
from .stream import stream

if TYPE_CHECKING:
    from .sessions import AnyRun

STATIC = resources.files("nnfit.web") / "static"
LANGUAGES = ("en", "zh")
UPLOAD_PATH = re.compile(r"/api/sessions/[^/]+/upload")  # the one route with bigger bodies


def make_app(
    token: str,
    *,
    host: str = "127.0.0.1",
    port: Callable[[], int] = lambda: 8000,
    sessions: Sessions | None = None,
) -> Any:
    """The playground as an ASGI application, behind the token and Host/Origin guard.

    Args:
        token: the access token every request must show (see ``nnfit.web.security``).
        host: the address the server is bound to (decides which Host names are accepted).
        port: the served port (a function: known once the socket is bound).
        sessions: the sessions and their caps (default: ``Sessions()``).
    """
    sessions = sessions or Sessions()

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        sessions.close()  # the server is stopping: so are the runs

    app = FastAPI(
        title="nnfit playground", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.sessions = sessions
    _add_data_routes(app, sessions)  # before _add_routes: its /{action} would take their paths
    _add_routes(app, sessions, key_for(token))
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, error: RequestValidationError) -> JSONResponse:
        where = {str(item.get("loc", ("",))[0]) for item in error.errors()}
        if "path" in where:  # a run number that is no number, and the like
            gone = UnknownSession("no such run in this session", code="unknown_run")
            return JSONResponse(refusal(gone), 404)
        problem = Refused(
            "the request body must be JSON (a table of name: value)", code="malformed"
        )
        return JSONResponse(refusal(problem), 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        text = {404: "no such page or API route", 405: "this route does not take that method"}
        problem = text.get(error.status_code, str(error.detail).splitlines()[0][:200])
        return JSONResponse(refusal(Refused(problem, code="malformed")), error.status_code)

    @app.exception_handler(NNFitError)
    async def refused(request: Request, error: NNFitError) -> JSONResponse:
        from .pool import NoWorkers

        busy = isinstance(error, (Busy, NoWorkers))
        status = 503 if busy else 404 if isinstance(error, UnknownSession) else 400
        if isinstance(error, Refused) and error.status != 400:
            status = error.status  # 413: an upload over the cap
        return JSONResponse(refusal(error), status_code=status)

    def body_limit(path: str) -> tuple[int, str]:
        if UPLOAD_PATH.fullmatch(path):
            return sessions.caps.upload_bytes, too_big(sessions.caps)
        return MAX_BODY, f"a request body may have at most {MAX_BODY} bytes"

    return Guard(app, token, host, port, body_limit=body_limit)


def _add_routes(app: Any, sessions: Sessions, key: bytes) -> None:
    caps = sessions.caps

    page = (STATIC / "index.html").read_bytes()  # read once: a page load touches no disk

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        # With ?token=..., the guard sets the cookie on this answer and the page then drops the
        # token from the address bar. Not a redirect: after a redirect that began on another
        # site's link, browsers keep a SameSite=Strict cookie back, and the page would fail.
        return Response(page, media_type="text/html; charset=utf-8")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/api/settings")
    def settings() -> dict[str, Any]:
        """The form: the settings table's rows for the page, the caps, the frame rate."""
        return {
            "settings": form_table(caps),
            "caps": asdict(caps),
            "fps": sessions.fps,
            "speeds": list(SPEEDS),
            "languages": list(LANGUAGES),
            "data_defaults": data_defaults(),
            "race": race_offer(),
        }

    @app.post("/api/sessions")
    def create(request: Request) -> dict[str, Any]:
        """A new session for a tab; opened through a classroom link, it is locked to the
        link's choice (which the answer carries, for the page to hide and fix)."""
        classroom = request.scope.get("nnfit.classroom")
        session = sessions.create(classroom)
        if classroom is None:
            return {"session": session.id, "classroom": None}
        fixes_data = bool(MAKES_DATA & set(session.locks))  # no upload, no point edits
        return {
            "session": session.id,
            "classroom": {**classroom.as_json(), "fixes_data": fixes_data},
        }

    @app.post("/api/classroom")
    def classroom(body: Annotated[Any, Body()] = None) -> dict[str, Any]:
        """A classroom link's code for ``{values, hide, fix}`` (only with the server's token:
        the guard refuses a classroom link here)."""
        choice = parse_request(body, {row["name"] for row in form_table(caps)})
        build_run_config(choice.values, caps)  # the link's settings must be valid ones
        return {"code": sign(choice, key)}

    @app.post("/api/sessions/{session_id}/preview")
    def preview(session_id: str, values: Annotated[Any, Body()] = None) -> dict[str, Any]:
        """The data a run with these settings fits, drawn before training: the function's
        points, the uploaded table's chosen columns, or the chart's edits."""
        session = sessions.get(session_id)
        if values is not None and not isinstance(values, dict):
            raise_usage("settings must be a table of name: value")
        values = session.checked(values if values is not None else session.values)
        return preview_data(session, values, caps)

    @app.post("/api/sessions/{session_id}/setting")
    def set_setting(session_id: str, change: Annotated[Any, Body()]) -> dict[str, Any]:
        """Change one setting of the session, checked with the others: ``{name, value}``; or
        several that must agree, checked together: ``{settings: {name: value, ...}}``."""
        session = sessions.get(session_id)
        if isinstance(change, dict) and isinstance(change.get("settings"), dict):
            session.update(change["settings"], caps)  # e.g. hidden with one activation a layer
            return {"settings": session.values}
        if not isinstance(change, dict) or not isinstance(change.get("name"), str):
            raise_usage("a setting change is {name, value} or {settings: {name: value, ...}}")
        session.set(change["name"], change.get("value"), caps)
        return {"settings": session.values}

    @app.post("/api/sessions/{session_id}/start")
    def start(session_id: str, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
        """Start a run with ``{settings, paused}`` (a race: and ``race``, ``{setting, values}``);
        the page then opens its stream."""
        session = sessions.get(session_id)
        body = body if isinstance(body, dict) else {}
        run = sessions.start(
            session, body.get("settings"), paused=bool(body.get("paused")), race=body.get("race")
        )
        return {"run": session.runs, **run_state(run)}

    @app.post("/api/sessions/{session_id}/speed")
    def speed(session_id: str, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
        """``{speed}``: play at that many times the server's frame rate (0.1 to 10)."""
        session = sessions.get(session_id)
        sessions.set_speed(session, body.get("speed") if isinstance(body, dict) else None)
        return {"speed": session.speed}

    @app.post("/api/sessions/{session_id}/{action}")
    def control(session_id: str, action: str) -> dict[str, Any]:
        """``pause``, ``play``, ``step`` or ``reset`` the session's run; ``close`` ends the
        session (a closing tab says so with ``navigator.sendBeacon``)."""
        session = sessions.get(session_id)
        if action == "reset":
            sessions.reset(session)
            return {"state": "idle"}
        if action == "close":
            sessions.end(session)
            return {"state": "closed"}
        run = current(session)
        actions = {"pause": run.pause, "play": run.play, "step": run.step_once}
        if action not in actions:
            raise UnknownSession(
                f"unknown control {action[:20]!r}; use pause, play, step, reset or close",
                code="unknown_control",
                params={"name": action[:20]},
            )
        actions[action]()
        return run_state(run)

    @app.get("/api/sessions/{session_id}/runs/{run_id}")
    def state(session_id: str, run_id: int) -> dict[str, Any]:
        """The run's state: running, paused, done, stopped or failed, and its step."""
        return run_state(current(sessions.get(session_id), run_id))

    @app.get("/api/sessions/{session_id}/runs/{run_id}/events")
    def events(session_id: str, run_id: int, last_event_id: str | None = Header(None)) -> Response:
        """The run's frames as Server-Sent Events (resumes after ``Last-Event-ID``)."""
        run = current(sessions.get(session_id), run_id)
        return stream(run, last_event_id, sessions.fps)

    _add_export_route(app, sessions)


def _add_export_route(app: Any, sessions: Sessions) -> None:
    """``GET .../runs/{n}/export/{kind}``: a download of the run (gif, png, zip, toml), made
    by the run itself (``PlayRun.export``) in FastAPI's thread pool; 409 with a sentence when
    the run cannot give it yet, 503 when the server is busy making others."""

    @app.get("/api/sessions/{session_id}/runs/{run_id}/export/{kind}")
    def download(session_id: str, run_id: int, kind: str) -> Response:
        run = current(sessions.get(session_id), run_id)
        try:
            check_batch(kind, run.since(2**62))  # here, before asking the run's process
            content, media_type, name = run.export(kind)
        except (NotReady, ExportBusy) as error:
            status = 409 if isinstance(error, NotReady) else 503
            return JSONResponse(refusal(error), status_code=status)
        disposition = f'attachment; filename="{name}"'  # our own ASCII names, never a user's
        return Response(
            content, media_type=media_type, headers={"Content-Disposition": disposition}
        )


def current(session: PlaySession, run_id: int | None = None) -> AnyRun:
    """The session's run (``run_id``: only if it is still the newest)."""
    if session.run is None or (run_id is not None and run_id != session.runs):
        raise UnknownSession(
            "no such run in this session (it was reset or replaced)", code="unknown_run"
        )
    return session.run


def run_state(run: AnyRun) -> dict[str, Any]:
    """A run's state and step, as the controls answer."""
    batch = run.since(2**62)
    return {"state": batch.state, "step": batch.step, "frames": batch.seq}


def preview_data(session: PlaySession, values: Any, caps: Caps) -> dict[str, Any]:
    """The data a run of the session with these settings fits (every row: the caps keep them
    few), made by the same ``load_dataset`` as the run (``nnfit.web.playdata``)."""
    kind = "edited" if session.edited else "upload" if session.upload else "function"
    dataset = session_dataset(values, caps, upload=session.upload, edited=session.edited)
    inputs = dataset.x.shape[1]
    check_inputs(inputs)
    data = {**data_json(dataset, kind, session.upload), "inputs": inputs}
    if inputs == 2:  # the points on the plane, the run's validation rows hollow (plane.py)
        config = build_run_config(values, caps, uploaded=session.upload is not None)
        data.update(plane_preview(dataset, config, list(range(len(dataset.x)))))
    return data


def _add_data_routes(app: Any, sessions: Sessions) -> None:
    """Uploads and the chart's point edits (``nnfit.web.playdata``)."""

    @app.post("/api/sessions/{session_id}/upload")
    async def upload(session_id: str, request: Request, name: str = "") -> dict[str, Any]:
        """A text table as the request body (its file name in ``?name=``), kept for the
        session in memory; the guard refused a longer body before it was read."""
        session = sessions.get(session_id)
        content = bytearray()
        async for chunk in request.stream():
            content += chunk
            if len(content) > sessions.caps.upload_bytes:  # a lying Content-Length
                raise refused(too_big(sessions.caps), "file", 413)
        return await run_in_threadpool(sessions.upload, session, name, bytes(content))

    @app.post("/api/sessions/{session_id}/upload/remove")
    def remove_upload(session_id: str) -> dict[str, Any]:
        """Forget the session's upload: its data is the function's again."""
        sessions.remove_upload(sessions.get(session_id))
        return {"upload": None}

    @app.post("/api/sessions/{session_id}/points")
    def points(session_id: str, change: Annotated[Any, Body()] = None) -> dict[str, Any]:
        """Add, move or delete a point on the chart, or ``reset`` to the settings' data."""
        return sessions.edit(sessions.get(session_id), change)


def raise_usage(text: str) -> None:
    """Refuse a malformed request body in one line (HTTP 400)."""
    raise Refused(text, code="malformed")
