"""``floe serve``'s ASGI application: read-only pages over the ledger (UI-01..UI-06).

    app = dashboard(settings)            # Starlette; uvicorn runs it
    GET /                 environments x versions
    GET /versions/{v}     one version's path, gates, signature, authorization, impact
    GET /timeline         promotions, rollbacks, locks, refusals (?env=&operator=&since=&until=)
    GET /audit            the last verify; /audit?verify=now runs it again
    GET /audit/events/{n} one stored event (what a timeline line links to)
    GET /metrics          the DORA metrics per environment (?env=&days=)
    GET /api/head         {"head": n}: the ledger's position, polled by static/live.js

Every route answers GET (and HEAD) only: any other method is 405. Each request reads
through its own App, in a worker thread, and closes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from floe_ledger.cli.app import App, Settings
from floe_ledger.cli.web import metrics_page, reads
from floe_ledger.cli.web.filters import FILTERS, parse_moment

HERE = Path(__file__).parent  # the installed package (templates and static are package data)
T = TypeVar("T")


@dataclass
class ServeState:
    """What the server keeps between requests: its settings and the last verify it ran."""

    settings: Settings
    checkpoint: Path | None = None
    public_key: Path | None = None
    last_verify: dict[str, Any] | None = None
    verified_at: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters.update(FILTERS)
    return env


def dashboard(state: ServeState) -> Starlette:
    jinja = templates()

    def with_app(read: Callable[[App], T]) -> T:
        app = App(state.settings)
        try:
            return read(app)
        finally:
            app.close()

    async def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        html = jinja.get_template(name).render(request=request, page=name.split(".")[0],
                                               **context)
        return HTMLResponse(html, status_code=status)

    async def found(request: Request, name: str, *, what: str, detail: str,
                    **context: Any) -> Response:
        """The page for what was looked up (the one value in ``context``), else a 404."""
        if any(value is None for value in context.values()):
            return await page(request, "missing.html", status=404, what=what, detail=detail)
        return await page(request, name, **context)

    async def matrix(request: Request) -> Response:
        data = await run_in_threadpool(with_app, reads.matrix)
        return await page(request, "matrix.html", m=data)

    async def version(request: Request) -> Response:
        name = request.path_params["version"]
        data = await run_in_threadpool(with_app, lambda app: reads.version_page(app, name))
        return await found(request, "version.html", v=data, what=f"version {name}",
                           detail="the ledger has no event about it")

    async def timeline(request: Request) -> Response:
        q = request.query_params
        problems: list[str] = []
        since = parse_moment(q.get("since"), "since", problems)
        until = parse_moment(q.get("until"), "until", problems)
        keep = reads.history_filter(q.get("env") or None, q.get("operator") or None, since,
                                    until)

        def read(app: App) -> tuple[list[str], list[Any], list[str]]:
            return reads.environments(app), reads.timeline(app, keep), reads.operators(app)

        envs, entries, operators = await run_in_threadpool(with_app, read)
        return await page(request, "timeline.html", entries=entries, envs=envs,
                          operators=operators, q=q, problems=problems,
                          status=400 if problems else 200)

    async def audit(request: Request) -> Response:
        if request.query_params.get("verify") == "now" or state.last_verify is None:
            def run(app: App) -> dict[str, Any]:
                return reads.verify(app, state.checkpoint, state.public_key)

            async with state.lock:
                result = await run_in_threadpool(with_app, run)
                state.last_verify = result
                state.verified_at = datetime.now(UTC).isoformat(timespec="seconds")
        return await page(request, "audit.html", result=state.last_verify,
                          verified_at=state.verified_at)

    async def audit_event(request: Request) -> Response:
        position = request.path_params["position"]
        data = await run_in_threadpool(with_app, lambda app: reads.audit_entry(app, position))
        return await found(request, "event.html", e=data, what=f"event {position}",
                           detail="no event at that position")

    async def metrics(request: Request) -> Response:
        context = await run_in_threadpool(
            with_app, lambda app: metrics_page.context(app, request.query_params))
        return await page(request, "metrics.html", status=400 if context["problems"] else 200,
                          **context)

    async def api_head(request: Request) -> Response:
        position = await run_in_threadpool(with_app, reads.head)
        return JSONResponse({"head": position}, headers={"Cache-Control": "no-store"})

    async def not_found(request: Request, exc: Exception) -> Response:
        code = exc.status_code if isinstance(exc, HTTPException) else 500
        if code == 404:
            return await page(request, "missing.html", status=404, what=request.url.path,
                              detail="no such page")
        return Response(status_code=code, headers=getattr(exc, "headers", None))

    routes = [
        Route("/", matrix, methods=["GET"]),
        Route("/versions/{version:str}", version, methods=["GET"]),
        Route("/timeline", timeline, methods=["GET"]),
        Route("/audit", audit, methods=["GET"]),
        Route("/audit/events/{position:int}", audit_event, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/api/head", api_head, methods=["GET"]),
        # follow_symlink: a strict editable install links each file to the source tree
        Mount("/static", StaticFiles(directory=HERE / "static", follow_symlink=True),
              name="static"),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: not_found})
