"""The server entry: ``app.py`` served by Streamlit behind one middleware of our own.

``streamlit run serve.py`` (what ``make run`` does) finds the ``app = st.App(...)`` below
and serves it with uvicorn, with the same configuration, secrets, sign-in routes
(``/auth/login``, ``/auth/logout``, ``/oauth2callback``), XSRF protection and websocket as
``streamlit run app.py``. The one difference: ``/_stcore/metrics`` answers 404.

Streamlit 1.67 always serves that endpoint and no configuration option turns it off. It
tells anyone who can reach the server how many sessions are open and how much memory the
caches hold; an internal dashboard has no use for it, so it is refused here, under any
``server.baseUrlPath``. Block it at the reverse proxy as well (see docs/deploy.md).

As it starts, the server also reads the published extracts the pages open with and
imports the pages' modules, in a thread of its own (:func:`equality_ui.loading.warm_up`):
the first person to open a page after a restart no longer waits for both.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import streamlit as st  # noqa: TID251 - the server entry is part of the UI, like app.py
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse

from equality_core.measures import MATRIX_EXTRACTS
from equality_ui import loading

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

#: Path segments that must never be served, wherever they appear in the path.
BLOCKED = ("_stcore", "metrics")


def is_blocked(path: str) -> bool:
    """Whether ``path`` is the metrics endpoint or below it, under any base URL path.

    Empty segments (``//``) are ignored and case is folded, so neither a doubled slash
    nor capitals reach the endpoint by another spelling.
    """
    segments = [s.lower() for s in path.split("/") if s]
    n = len(BLOCKED)
    return any(tuple(segments[i : i + n]) == BLOCKED for i in range(len(segments) - n + 1))


class BlockMetrics:
    """ASGI middleware answering 404 for the metrics endpoint, before Streamlit sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse blocked paths (HTTP: 404; websocket: closed); pass on everything else."""
        if scope["type"] in {"http", "websocket"} and is_blocked(scope.get("path", "")):
            if scope["type"] == "http":
                await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)


@asynccontextmanager
async def warm_up(_app: st.App) -> AsyncIterator[None]:
    """Start warming up (:func:`equality_ui.loading.warm_up`) as the server starts.

    In a thread of its own, so the server answers at once: a page opened before the
    reads end waits for them, rather than reading the extracts a second time.
    """
    threading.Thread(
        target=loading.warm_up,
        args=(MATRIX_EXTRACTS,),
        name="equality-monitor-warm-up",
        daemon=True,
    ).start()
    yield


app = st.App("app.py", lifespan=warm_up, middleware=[Middleware(BlockMetrics)])
