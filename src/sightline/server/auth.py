"""Authentication: API keys with scopes on every route, and the dashboard's login.

When ``SIGHTLINE_AUTH`` is on, every request needs a key (``Authorization: Bearer <key>``, as
the SDK and the CLI send it) or a dashboard session cookie, with the scope its route needs:

    ingest   POST /v1/ingest
    read     every GET (the query API, the dashboard pages, /metrics, /openapi.json)
    admin    every other method: configuration, runs and backfills, references, silences,
             acknowledgements — and everything the other scopes allow

Public: ``/healthz`` (load balancers, ``sightline`` checking for a server), the login and
logout pages and the static assets (CSS, Plotly.js). A new route is protected by the same rule
(read for GET, admin otherwise) unless it is added to :data:`SCOPE_OVERRIDES`, so no route can
be forgotten. Without a key: 401 (a page redirects to ``/login``); with the wrong scope: 403,
both as JSON in the API's error format.

The login form takes a key with the read scope and sets a cookie holding a signed session token
(the key's id and an expiry, HMAC-SHA256 with the secret kept in the keys file — never the key
itself): HttpOnly, Secure, SameSite=Lax. A session acts with its key's scopes and ends when the
key is revoked. With auth off (the default) nothing of this runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from sightline.config import Settings
from sightline.errors import SightlineError
from sightline.server import dashboard
from sightline.store.keys import ApiKey, KeyStore

__all__ = [
    "PUBLIC_PATHS",
    "SCOPE_OVERRIDES",
    "SESSION_COOKIE",
    "Auth",
    "AuthMiddleware",
    "install",
    "required_scope",
    "router",
]

log = logging.getLogger("sightline.server.auth")

SESSION_COOKIE = "sightline_session"
PUBLIC_PATHS = frozenset({"/healthz", "/login", "/logout"})
PUBLIC_PREFIXES = ("/static/",)
#: Routes whose scope is not the default (read for GET and HEAD, admin otherwise).
SCOPE_OVERRIDES: dict[tuple[str, str], str] = {("POST", "/v1/ingest"): "ingest"}
MAX_FORM_BYTES = 8192
LOOPBACK = ("localhost", "127.0.0.1", "::1")

_session_user: ContextVar[str | None] = ContextVar("sightline_session_user", default=None)


def session_user() -> str | None:
    """The name of the key of the dashboard session serving this request (templates show it
    beside the logout link), or None."""
    return _session_user.get()


dashboard.templates.globals["session_user"] = session_user

router = APIRouter(include_in_schema=False)


def required_scope(method: str, path: str) -> str | None:
    """The scope a request needs, or None for a public path."""
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return None
    override = SCOPE_OVERRIDES.get((method, path))
    if override is not None:
        return override
    return "read" if method in ("GET", "HEAD") else "admin"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Auth:
    """The keys file and the session rules of one server."""

    def __init__(self, keys: KeyStore, session_hours: float = 12.0):
        self.keys = keys
        self.session_seconds = session_hours * 3600

    def session_token(self, key: ApiKey, now: float | None = None) -> str:
        """A signed token naming ``key`` (by id) until ``now`` + the session length."""
        now = time.time() if now is None else now
        payload = _b64(json.dumps({"kid": key.id, "exp": int(now + self.session_seconds)}).encode())
        signature = hmac.new(self.keys.session_secret(), payload.encode(), hashlib.sha256)
        return f"{payload}.{_b64(signature.digest())}"

    def session_key(self, token: str, now: float | None = None) -> ApiKey | None:
        """The key a session token names, if the token is genuine, unexpired and the key still
        exists."""
        payload, _, signature = token.partition(".")
        expected = hmac.new(self.keys.session_secret(), payload.encode(), hashlib.sha256)
        try:
            genuine = hmac.compare_digest(_unb64(signature), expected.digest())
            data = json.loads(_unb64(payload)) if genuine else None
        except (ValueError, TypeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("exp"), int):
            return None
        if data["exp"] < (time.time() if now is None else now):
            return None
        return self.keys.by_id(str(data.get("kid")))

    def authenticate(self, connection: HTTPConnection) -> tuple[ApiKey | None, str, str]:
        """The key of a request, how it came (``key``, ``session``, or ``""``), and why it was
        refused when it was."""
        header = connection.headers.get("authorization")
        if header is not None:
            kind, _, value = header.strip().partition(" ")
            if kind.lower() != "bearer" or not value.strip():
                return None, "key", "send the API key as 'Authorization: Bearer <key>'"
            key = self.keys.find(value.strip())
            if key is None:
                return None, "key", "unknown or revoked API key"
            return key, "key", ""
        token = connection.cookies.get(SESSION_COOKIE)
        if token:
            key = self.session_key(token)
            if key is None:
                return None, "session", "the dashboard session has expired; log in again"
            return key, "session", ""
        return None, "", "this server requires an API key: send 'Authorization: Bearer <key>'"


def _is_page(method: str, path: str, accept: str) -> bool:
    """A browser asking for a page (sent to the login form rather than answered with 401)."""
    api = path.startswith("/v1/") or path in ("/metrics", "/openapi.json")
    return method in ("GET", "HEAD") and not api and "text/html" in accept


class AuthMiddleware:
    """Checks every HTTP request (and websocket) against :func:`required_scope`."""

    def __init__(self, app: ASGIApp, auth: Auth):
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        method, path = scope.get("method", "GET"), scope["path"]
        needed = required_scope(method, path)
        try:
            key, via, problem = self.auth.authenticate(connection)
        except SightlineError as error:  # e.g. a damaged keys file: say so, never guess
            log.error("cannot check API keys: %s", error)
            if needed is not None:
                body = {"error": type(error).__name__, "message": str(error)}
                await self._refuse(JSONResponse(body, 503), scope, receive, send)
                return
            key, via, problem = None, "", ""
        refusal = self.refusal(connection, needed, key, problem)
        if refusal is not None:
            await self._refuse(refusal, scope, receive, send)
            return
        scope.setdefault("state", {})["api_key"] = key
        token = _session_user.set(key.name if key is not None and via == "session" else None)
        try:
            await self.app(scope, receive, send)
        finally:
            _session_user.reset(token)

    @staticmethod
    def refusal(
        connection: HTTPConnection, needed: str | None, key: ApiKey | None, problem: str
    ) -> Response | None:
        """The answer to a request its key does not allow (None when it may go on)."""
        if needed is None:
            return None
        scope = connection.scope
        method, path = scope.get("method", "GET"), scope["path"]
        if key is None:
            if _is_page(method, path, connection.headers.get("accept", "")):
                query = scope["query_string"].decode()
                target = path + (f"?{query}" if query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
            return JSONResponse(
                {"error": "Unauthorized", "message": problem},
                401,
                headers={"www-authenticate": 'Bearer realm="sightline"'},
            )
        if not key.allows(needed):
            message = (
                f"the API key '{key.name}' (scopes: {', '.join(key.scopes)}) lacks the "
                f"'{needed}' scope that {method} {path} needs"
            )
            return JSONResponse({"error": "Forbidden", "message": message}, 403)
        return None

    @staticmethod
    async def _refuse(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await response(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the login pages to ``app`` and, when ``settings.auth`` is on, the key checks."""
    app.include_router(router)
    app.state.auth = None
    if not settings.auth:
        return
    auth = Auth(KeyStore(settings.keys_path), settings.session_hours)
    app.state.auth = auth
    app.add_middleware(AuthMiddleware, auth=auth)
    if not auth.keys.list():
        log.warning(
            "auth is on but %s holds no API key: create one with "
            "`sightline keys create --scope admin --name <you>`",
            settings.keys_path,
        )


# -- the login pages --------------------------------------------------------------------------


def _auth(request: Request) -> Auth | None:
    found: Auth | None = getattr(request.app.state, "auth", None)
    return found


def _safe_next(value: str | None) -> str:
    """Where to go after logging in: a path on this server, never another site."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


def _login_page(request: Request, next_url: str, error: str = "", status: int = 200) -> Any:
    plain_http = request.url.scheme == "http" and request.url.hostname not in LOOPBACK
    return HTMLResponse(
        dashboard.templates.get_template("login.html").render(
            next=next_url, error=error, plain_http=plain_http
        ),
        status_code=status,
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Any:
    if _auth(request) is None:
        return RedirectResponse(_safe_next(next), 303)
    return _login_page(request, _safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Any:
    auth = _auth(request)
    body = await request.body()
    form = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace"))
    next_url = _safe_next((form.get("next") or ["/"])[0])
    if auth is None:
        return RedirectResponse(next_url, 303)
    secret = (form.get("key") or [""])[0].strip()
    key = auth.keys.find(secret) if secret else None
    if key is None:
        return _login_page(request, next_url, "Unknown or revoked API key.", 401)
    if not key.allows("read"):
        message = (
            f"The key '{key.name}' has the scopes {', '.join(key.scopes)}; the dashboard needs "
            "a key with the read (or admin) scope."
        )
        return _login_page(request, next_url, message, 403)
    response = RedirectResponse(next_url, 303)
    response.set_cookie(
        SESSION_COOKIE,
        auth.session_token(key),
        max_age=int(auth.session_seconds),
        httponly=True,
        secure=True,
        samesite="lax",
        path="/",
    )
    log.info("dashboard login with the key '%s'", key.name)
    return response


@router.get("/logout")
def logout(request: Request) -> Any:
    response = RedirectResponse("/login" if _auth(request) else "/", 303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response
