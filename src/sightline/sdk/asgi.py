"""ASGI middleware that records every HTTP request of a service as a service event.

    >>> app = FastAPI()                                          # doctest: +SKIP
    >>> app.add_middleware(SightlineMiddleware, model="churn")   # doctest: +SKIP

Each request becomes an ``http.request`` event with its latency, status code, method and route
template (``/users/{user_id}``, never the raw path, so metrics stay low-cardinality). A request
that raises is recorded with status 500 and the exception's type. Works with FastAPI, Starlette
and any ASGI app; it imports neither.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from sightline.sdk.client import Client, default_client

__all__ = ["SightlineMiddleware"]

log = logging.getLogger("sightline")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SightlineMiddleware:
    """Records HTTP requests of ``app`` as service events of ``model``."""

    def __init__(
        self,
        app: ASGIApp,
        model: str,
        *,
        client: Client | None = None,
        event: str = "http.request",
        model_version: str | None = None,
    ):
        self.app = app
        self.model = model
        self.client = client
        self.event = event
        self.model_version = model_version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        error_type: str | None = None

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message.get("type") == "http.response.start":
                status = int(message.get("status", 500))
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        except BaseException as error:
            status, error_type = 500, type(error).__name__
            raise
        finally:
            self._record(scope, status, error_type, (time.perf_counter() - started) * 1000)

    def _record(self, scope: Scope, status: int, error_type: str | None, latency: float) -> None:
        client = self.client or default_client()
        if client is None:
            return
        route = getattr(scope.get("route"), "path", None) or "<unmatched>"
        try:
            client.log_event(
                self.model,
                self.event,
                latency_ms=latency,
                status=status,
                error_type=error_type,
                attributes={"route": route, "method": scope.get("method", "")},
                model_version=self.model_version,
            )
        except Exception:  # monitoring must never break the service
            log.debug("sightline: could not record a request", exc_info=True)
