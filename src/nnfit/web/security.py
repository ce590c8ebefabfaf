"""The playground's guard: an access token, Host and Origin checks, security headers.

As Jupyter does, ``nnfit serve`` prints a URL with a random token. The first visit carries it
as ``?token=...``; the answer sets it as a cookie (HttpOnly, SameSite=Strict, one name per
port; the page then drops the token from the address bar) and every later request shows the
cookie (or ``Authorization: token ...``, for programs). A classroom link's signed code
(``?class=...``, then its own cookie) is a lesser credential: it lets a student in, and the
sessions it opens keep the link's locked settings (``nnfit.web.classroom``); it cannot make
links. The route sees which in ``scope["nnfit.classroom"]`` (None for the token).
A request whose Host is not a name of this server is refused, which defeats DNS rebinding (a
page of evil.example whose name was re-pointed at 127.0.0.1); one whose Origin is not this
server (another site, or another port of this machine: cookies are not kept apart by port)
is refused too, and no CORS header is ever sent. Request bodies are small JSON: one without
a length, or over ``MAX_BODY`` bytes, is refused before it is read. Every answer carries a
Content-Security-Policy that allows only the server's own scripts, styles and connections
(no inline code), refuses framing, and sends no referrer. A plain ASGI middleware, so streams
pass through untouched.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .classroom import Classroom, key_for, read

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
MAX_BODY = 64 * 1024  # bytes of a request body: settings are a few hundred
COOKIE_FLAGS = "; Path=/; HttpOnly; SameSite=Strict"
FETCH_SITES = ("same-origin", "none")  # Sec-Fetch-Site values of the page's own requests


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def served_names(host: str) -> frozenset[str]:
    """The host names a request to a server bound at ``host`` may use: the loopback names
    always, ``host`` itself, and for 0.0.0.0 or :: this machine's names and addresses."""
    names = {*LOOPBACK_NAMES, host.strip("[]").lower()}
    if host in ("0.0.0.0", "::", ""):
        hostname = socket.gethostname()
        names |= {hostname.lower(), socket.getfqdn().lower()}
        with contextlib.suppress(OSError):  # a name without an address
            names |= set(socket.gethostbyname_ex(hostname)[2])
    return frozenset(names)


def host_name(value: str) -> str:
    """The name in a Host header or an origin's netloc, without the port: ``[::1]:80`` → ``::1``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def cookie_name(port: int, kind: str = "token") -> str:
    """A cookie's name (``token``, or ``class`` for a classroom link's code): cookies are not
    kept apart by port, so the port is in it."""
    return f"nnfit-{kind}-{port}"


def _cookies(headers: dict[str, str]) -> SimpleCookie:
    cookies: SimpleCookie = SimpleCookie()
    with contextlib.suppress(Exception):  # a malformed Cookie header carries nothing
        cookies.load(headers.get("cookie", ""))
    return cookies


class Guard:
    """ASGI middleware: token, Host and Origin checks, security headers on every answer.

    Args:
        app: the application behind it.
        token: the access token (``secrets.token_urlsafe``).
        host: the address the server is bound to.
        port: the served port, for the cookie's name (a function: a server on port 0 learns
            its port once bound).
    """

    def __init__(self, app: ASGIApp, token: str, host: str, port: Callable[[], int]) -> None:
        self.app, self.token, self.port = app, token, port
        self.names = served_names(host)
        self.key = key_for(token)  # signs and checks classroom links

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets here
            await send({"type": "websocket.close", "code": 1008})
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refused = self.refusal(headers, scope["method"]) or _body_refusal(scope["method"], headers)
        if refused is not None:
            await _plain(send, *refused)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get("token", [None])[0]
        known = self.known(headers)
        classroom, set_cookie = None, None
        if not known and not (given and self.matches(given)):
            code = query.get("class", [None])[0]
            classroom = read(code, self.key) if code else self.classroom(headers)
            if classroom is None:
                await _plain(send, 403, "missing or wrong token: open the URL nnfit serve printed")
                return
            if scope.get("path") == "/api/classroom":
                await _plain(send, 403, "a classroom link cannot make links: ask the teacher")
                return
            if code:
                set_cookie = f"{cookie_name(self.port(), 'class')}={code}{COOKIE_FLAGS}"
        elif not known:
            set_cookie = self.cookie()
        scope["nnfit.classroom"] = classroom  # None: the full token; else the link's choice

        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = list(HEADERS)
                if set_cookie is not None:
                    extra.append((b"set-cookie", set_cookie.encode("latin-1")))
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OURS]
                message["headers"] = kept + extra
            await send(message)

        await self.app(scope, receive, guarded)

    def refusal(self, headers: dict[str, str], method: str = "GET") -> tuple[int, str] | None:
        """(status, reason) for a request from elsewhere, or None. Opening the page from a link
        on another site is no such request (a GET navigation, which changes nothing; the
        SameSite cookie stays behind, so the link's token is what lets it in)."""
        if host_name(headers.get("host", "")) not in self.names:
            return 400, "wrong Host: open the URL nnfit serve printed"
        origin = headers.get("origin")
        if origin is not None and not self.own_origin(origin):
            return 403, "requests from other sites are refused"
        navigation = method == "GET" and headers.get("sec-fetch-mode") == "navigate"
        if headers.get("sec-fetch-site", "none") not in FETCH_SITES and not navigation:
            return 403, "requests from other sites are refused"
        return None

    def own_origin(self, origin: str) -> bool:
        """Whether an Origin header names this server: http, one of its names, its port."""
        parts = urlsplit(origin)
        try:
            port = parts.port or 80
        except ValueError:  # not a port number
            return False
        return (
            parts.scheme == "http" and host_name(parts.netloc) in self.names and port == self.port()
        )

    def matches(self, given: str) -> bool:
        """Whether ``given`` is the token (in constant time)."""
        return hmac.compare_digest(given.encode(), self.token.encode())

    def known(self, headers: dict[str, str]) -> bool:
        """Whether the request shows the token: its cookie, or ``Authorization: token ...``."""
        auth = headers.get("authorization", "")
        if auth.lower().startswith("token ") and self.matches(auth[6:].strip()):
            return True
        morsel = _cookies(headers).get(cookie_name(self.port()))
        return morsel is not None and self.matches(morsel.value)

    def cookie(self) -> str:
        """The Set-Cookie value that keeps the token for later requests."""
        return f"{cookie_name(self.port())}={self.token}{COOKIE_FLAGS}"

    def classroom(self, headers: dict[str, str]) -> Classroom | None:
        """The classroom link a request's cookie carries (a student's credential), or None."""
        morsel = _cookies(headers).get(cookie_name(self.port(), "class"))
        return None if morsel is None else read(morsel.value, self.key)


_OURS = {name for name, _ in HEADERS} | {b"access-control-allow-origin"}


def _body_refusal(method: str, headers: dict[str, str]) -> tuple[int, str] | None:
    """(status, reason) for a body the server will not read: no length, or too long."""
    if method not in ("POST", "PUT", "PATCH"):
        return None
    length = headers.get("content-length")
    if length is None or not length.isdigit():
        return 411, "a request body needs a Content-Length"
    if int(length) > MAX_BODY:
        return 413, f"a request body may have at most {MAX_BODY} bytes"
    return None


async def _plain(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    headers: Iterable[tuple[bytes, bytes]] = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})
    await send({"type": "http.response.body", "body": body})
