"""Classroom links: a teacher's choice of settings that students' sessions cannot change.

A teacher (who holds the server's token) asks for a link (``POST /api/classroom``) with the
settings to show, the ones to hide and the ones to fix. The answer is a code: the choice as
JSON and its HMAC-SHA256 under a key derived from the server's token, so only this server
could have made it and no student can alter it. The link ``/?class=CODE`` lets a student in
without the token (the guard accepts the code as a restricted credential and keeps it in a
cookie); every session it opens is locked: a hidden or fixed setting keeps the link's value
(or the default) whatever a request asks, and a request that asks otherwise is refused with
a line naming the setting. The page hides and disables those fields, but the server is what
enforces them. Torch- and FastAPI-free.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from ..checks import FieldError, shown
from .form import Refused

MAX_CODE = 4096  # characters of a code: a page's settings are a few hundred


@dataclass(frozen=True)
class Classroom:
    """A classroom link's choice: settings' values, and which are hidden or fixed."""

    values: dict[str, Any] = field(default_factory=dict)
    hide: tuple[str, ...] = ()
    fix: tuple[str, ...] = ()

    def locks(self, defaults: dict[str, Any]) -> dict[str, Any]:
        """The value each hidden or fixed setting keeps: the link's, else the default."""
        return {name: self.values.get(name, defaults.get(name)) for name in (*self.hide, *self.fix)}

    def as_json(self) -> dict[str, Any]:
        """The choice for the page: values, hide, fix."""
        return {"values": self.values, "hide": list(self.hide), "fix": list(self.fix)}


def key_for(token: str) -> bytes:
    """The signing key of a server's classroom links (derived from its token: a new token, a
    new server, makes old links invalid)."""
    return hashlib.sha256(b"nnfit classroom link\0" + token.encode()).digest()


def sign(classroom: Classroom, key: bytes) -> str:
    """The link's code: the choice as URL-safe base64 JSON, a dot, its HMAC."""
    body = json.dumps(classroom.as_json(), sort_keys=True, separators=(",", ":"))
    payload = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
    return f"{payload}.{_mac(payload, key)}"


def read(code: str, key: bytes) -> Classroom | None:
    """The choice a code carries, or None when it is not one this server signed."""
    if not isinstance(code, str) or len(code) > MAX_CODE or code.count(".") != 1:
        return None
    payload, mac = code.split(".")
    if not hmac.compare_digest(mac.encode(), _mac(payload, key).encode()):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error):
        return None
    return Classroom(data["values"], tuple(data["hide"]), tuple(data["fix"]))


def _mac(payload: str, key: bytes) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:32]


def parse_request(body: Any, names: set[str]) -> Classroom:
    """A teacher's request ``{values, hide, fix}`` as a Classroom (Refused if malformed;
    names must be settings the page shows)."""
    if not isinstance(body, dict):
        raise classroom_error("a classroom link is {values, hide, fix}")
    values = body.get("values") or {}
    if not isinstance(values, dict):
        raise classroom_error("a classroom link's values must be a table of name: value")
    chosen: dict[str, tuple[str, ...]] = {}
    for key in ("hide", "fix"):
        items = body.get(key) or []
        if not isinstance(items, list) or not all(isinstance(n, str) for n in items):
            raise classroom_error(f"a classroom link's {key} must be a list of setting names")
        unknown = [n for n in items if n not in names]
        if unknown:
            raise classroom_error(
                f"{unknown[0][:40]!r} in {key} is not a setting of the page; use one of the "
                "form's names"
            )
        chosen[key] = tuple(dict.fromkeys(items))
    return Classroom(dict(values), chosen["hide"], chosen["fix"])


def classroom_error(text: str) -> Refused:
    """A teacher's malformed request, in one line (the 中文 page frames it: code ``classroom``)."""
    return Refused.framed(text, "classroom")


def locked(values: dict[str, Any], locks: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every locked setting at its lock; FieldError for one asked otherwise."""
    for name, value in locks.items():
        if name in values and not same(values[name], value):
            rule = f"is fixed at {shown(value)} by this classroom link"
            raise FieldError(
                name, rule, values[name], code="locked", params={"fixed": shown(value)}
            )
    return {**values, **locks}


def same(a: Any, b: Any) -> bool:
    """Whether two settings' values from JSON are the same (``1`` and ``1.0`` are)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) or a == b
