"""The fake API server: one Starlette app serving a scenario as GitHub (REST + GraphQL, github.com
and GHES paths) and Heroku, with fault injection and request statistics.

Routes
    GitHub REST       GET  /…            and the same under /api/v3 (GHES)
    GitHub GraphQL    POST /graphql      and POST /api/graphql (GHES)
    Heroku            GET  /heroku/apps/{app}[/releases[/{release}]|/slugs/{slug}]
    PagerDuty         GET  /pagerduty/incidents[/{id}[/log_entries]], /pagerduty/services[/{id}]
    stats             GET  /_fake/stats, POST /_fake/stats/reset
    health            GET  /healthz

Every request on a channel (rest, graphql, heroku, pagerduty) is counted first; its ordinal
drives the fault plan; then the channel's own auth, budget and handler run.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from fakes.faults import Fault, FaultPlan, fault_answer
from fakes.heroku import HEROKU_ROUTES, HerokuService
from fakes.pagerduty import PAGERDUTY_ROUTES, PagerDutyService
from fakes.ratelimit import RateLimits
from fakes.rest import (
    ACCOUNT_ROUTES,
    GHES_PREFIX,
    JSON_TYPE,
    REPO_ROUTES,
    RestService,
    has_github_auth,
    new_request_id,
    route_key,
)
from fakes.rest_builders import dumps
from fakes.rest_common import DOCS
from fakes.scenario import Scenario, load_scenario

log = logging.getLogger(__name__)

CHANNELS = ("rest", "graphql", "heroku")
GRAPHQL_DOCS = (
    "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
)


class Stats:
    """Thread-safe request counters; the per-channel counts are also the fault ordinals."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = dict.fromkeys(CHANNELS, 0)
            self.total = 0
            self.routes: dict[str, int] = {}
            self.not_modified_count = 0
            self.graphql_points = 0
            self.faults: dict[str, int] = {}

    def count(self, channel: str, key: str) -> tuple[int, int]:
        """Count one request; returns its ordinal on `channel` and across all channels."""
        with self._lock:
            # pagerduty is counted from its first request on (older snapshots lack it)
            self.requests[channel] = self.requests.get(channel, 0) + 1
            self.total += 1
            self.routes[key] = self.routes.get(key, 0) + 1
            return self.requests[channel], self.total

    def not_modified(self) -> None:
        with self._lock:
            self.not_modified_count += 1

    def charge_graphql(self, points: int) -> None:
        with self._lock:
            self.graphql_points += points

    def fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] = self.faults.get(kind, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": {**self.requests, "total": self.total},
                "routes": dict(sorted(self.routes.items())),
                "not_modified": self.not_modified_count,
                "graphql_points": self.graphql_points,
                "faults_injected": sum(self.faults.values()),
                "faults_by_kind": dict(self.faults),
            }


@dataclass(slots=True)
class _AppState:
    scenario: Scenario
    faults: FaultPlan
    rate_limits: RateLimits
    stats: Stats
    rest: RestService
    heroku: HerokuService
    pagerduty: PagerDutyService
    _graphql: Any | None = None
    _graphql_loaded: bool = False
    _graphql_lock: threading.Lock = field(default_factory=threading.Lock)

    def graphql(self) -> Any | None:
        """The GraphQL service, built on first use: REST-only runs never pay for the schema."""
        if not self._graphql_loaded:
            with self._graphql_lock:
                if not self._graphql_loaded:
                    self._graphql = _load_graphql(self.scenario, self.rate_limits)
                    self._graphql_loaded = True
        return self._graphql


def _load_graphql(scenario: Scenario, rate_limits: RateLimits) -> Any | None:
    """GraphQL lives in fakes.graphql_api; imported lazily so REST works without it."""
    try:
        module = importlib.import_module("fakes.graphql_api")
    except ModuleNotFoundError as exc:
        if exc.name != "fakes.graphql_api":
            raise
        log.warning("fakes.graphql_api is not available: POST /graphql answers 503")
        return None
    return module.GraphQLService(scenario, rate_limits)


# --- channel gate: count, fault, then the real answer ---------------------------------------


def _fault_response(st: _AppState, fault: Fault, channel: str) -> Response:
    request_id = new_request_id()
    answer = fault_answer(fault, channel, request_id)
    if channel == "heroku":
        headers = {"ratelimit-remaining": str(st.heroku.remaining(False)), **answer.headers}
        return Response(dumps(answer.body), answer.status, headers, media_type="application/json")
    if channel == "pagerduty":
        return Response(dumps(answer.body), answer.status, answer.headers,
                        media_type="application/json")
    resource = "graphql" if channel == "graphql" else "core"
    headers = {
        **st.rate_limits.peek(resource).headers(),
        "x-github-request-id": request_id,
        **answer.headers,
    }
    return Response(dumps(answer.body), answer.status, headers, media_type=JSON_TYPE)


def _truncated(response: Response) -> Response:
    """The `malformed` fault: same status and headers, JSON cut in half."""
    body = bytes(response.body)
    cut = body[: max(len(body) // 2, 1)] if body else b"{"
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(cut, response.status_code, headers)


Inner = Callable[[Request], Response | Awaitable[Response]]


def _gated(
    st: _AppState, channel: str, key: str, inner: Inner
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        ordinal, total = st.stats.count(channel, key)
        fault = st.faults.check(channel, ordinal, total) if st.faults else None
        if fault is not None:
            st.stats.fault(fault.kind)
            if fault.kind == "slow":
                await asyncio.sleep(fault.seconds)
            elif fault.kind != "malformed":
                return _fault_response(st, fault, channel)
        response = inner(request)
        if not isinstance(response, Response):
            response = await response
        if fault is not None and fault.kind == "malformed":
            return _truncated(response)
        return response

    return endpoint


# --- endpoints outside REST -----------------------------------------------------------------


def _graphql_inner(st: _AppState) -> Inner:
    async def inner(request: Request) -> Response:
        request_id = new_request_id()
        base = {**st.rate_limits.peek("graphql").headers(), "x-github-request-id": request_id}
        if not has_github_auth(request):
            body = {
                "message": "This endpoint requires you to be authenticated.",
                "documentation_url": GRAPHQL_DOCS,
            }
            return Response(dumps(body), 401, base, media_type=JSON_TYPE)
        service = st.graphql()
        if service is None:
            body = {"message": "GraphQL is not available on this fake server."}
            return Response(dumps(body), 503, base, media_type=JSON_TYPE)
        try:
            payload = await request.json()
        except ValueError:
            body = {"message": "Problems parsing JSON", "documentation_url": DOCS}
            return Response(dumps(body), 400, base, media_type=JSON_TYPE)
        if not isinstance(payload, dict):
            body = {"message": "Body should be a JSON object", "documentation_url": DOCS}
            return Response(dumps(body), 400, base, media_type=JSON_TYPE)
        result = service.execute(payload)
        st.stats.charge_graphql(int(getattr(result, "cost", 0) or 0))
        headers = {**st.rate_limits.peek("graphql").headers(), "x-github-request-id": request_id}
        return Response(dumps(result.payload), result.status, headers, media_type=JSON_TYPE)

    return inner


def _rest_routes(st: _AppState, prefix: str) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for template in ACCOUNT_ROUTES:
        inner = _rest_inner(st, template, None, prefix)
        routes.append(Route(prefix + template, _gated(st, "rest", route_key(template), inner)))
    for template, handler in REPO_ROUTES:
        inner = _rest_inner(st, template, handler, prefix)
        routes.append(Route(prefix + template, _gated(st, "rest", route_key(template), inner)))
    return routes


def _rest_inner(st: _AppState, template: str, handler: Any, prefix: str) -> Inner:
    def inner(request: Request) -> Response:
        return st.rest.respond(request, template, handler, prefix)

    return inner


def _github_not_found(st: _AppState) -> Inner:
    def inner(request: Request) -> Response:
        body = {"message": "Not Found", "documentation_url": DOCS}
        return st.rest.json_response(404, body, new_request_id(), spend=False)

    return inner


def _heroku_not_found(request: Request) -> Response:
    body = {"id": "not_found", "message": "The requested API endpoint was not found."}
    return Response(dumps(body), 404, media_type="application/json")


def create_app(
    scenario: Scenario, faults: FaultPlan | None = None, rate_limit: int = 5000
) -> Starlette:
    """The whole fake API for `scenario`; `rate_limit` is the hourly core and GraphQL budget."""
    rate_limits = RateLimits(limit=rate_limit)
    stats = Stats()
    st = _AppState(
        scenario=scenario,
        faults=faults or FaultPlan(),
        rate_limits=rate_limits,
        stats=stats,
        rest=RestService(scenario, rate_limits, on_not_modified=stats.not_modified),
        heroku=HerokuService(scenario),
        pagerduty=PagerDutyService(scenario),
    )

    async def stats_endpoint(request: Request) -> Response:
        snap = st.stats.snapshot()
        core, gql = rate_limits.peek("core"), rate_limits.peek("graphql")
        snap["rate_limit"] = {
            "core": {"used": core.used, "remaining": core.remaining},
            "graphql": {"used": gql.used, "remaining": gql.remaining},
            "heroku": {"remaining": st.heroku.remaining(False)},
        }
        return JSONResponse(snap)

    async def stats_reset(request: Request) -> Response:
        st.stats.reset()
        return JSONResponse({"reset": True})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    graphql = _gated(st, "graphql", "POST /graphql", _graphql_inner(st))
    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/_fake/stats", stats_endpoint),
        Route("/_fake/stats/reset", stats_reset, methods=["POST"]),
        Route("/graphql", graphql, methods=["POST"]),
        Route("/api/graphql", graphql, methods=["POST"]),
    ]
    for template in HEROKU_ROUTES:

        def heroku_inner(request: Request, template: str = template) -> Response:
            return st.heroku.respond(request, template)

        routes.append(Route(template, _gated(st, "heroku", "GET " + template, heroku_inner)))
    for template in PAGERDUTY_ROUTES:

        def pagerduty_inner(request: Request, template: str = template) -> Response:
            return st.pagerduty.respond(request, template)

        routes.append(
            Route(template, _gated(st, "pagerduty", "GET " + template, pagerduty_inner))
        )
    routes.append(
        Route(
            "/heroku/{path:path}", _gated(st, "heroku", "GET /heroku/<unknown>", _heroku_not_found)
        )
    )
    routes += _rest_routes(st, GHES_PREFIX)
    routes += _rest_routes(st, "")
    routes.append(
        Route(
            "/{path:path}",
            _gated(st, "rest", "GET <unknown>", _github_not_found(st)),
            methods=["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"],
        )
    )
    app = Starlette(routes=routes)
    app.state.fake = st
    app.state.stats = stats
    app.state.rate_limits = rate_limits
    return app


# --- running it -----------------------------------------------------------------------------


@dataclass
class RunningServer:
    """A uvicorn server on a daemon thread; `with serve_in_thread(app) as srv: srv.base_url`."""

    host: str
    port: int
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _sock: socket.socket = field(repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # asyncio does not set TCP_NODELAY on connections accepted from a socket handed to it, and
    # uvicorn writes headers and body separately: with Nagle on, every small answer waits 40 ms
    # for the client's delayed ACK. Accepted sockets inherit the option from the listener.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)  # listening before the loop starts: early connections queue, not fail
    return sock


def _config(app: Starlette) -> uvicorn.Config:
    return uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
    )


def serve_in_thread(app: Starlette, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve `app` from a pre-bound socket (port 0 → a free port) and wait until it accepts."""
    sock = _listening_socket(host, port)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(_config(app))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"fake-api:{bound_port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"fake API server on {host}:{bound_port} did not start")
        time.sleep(0.01)
    return RunningServer(host, bound_port, server, thread, sock)


def serve(
    scenario_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    faults_spec: str | None = None,
) -> None:
    """`fourkeys fake-api`: load, log the URLs to configure, serve until interrupted."""
    scenario = load_scenario(scenario_path)
    faults = FaultPlan.parse(faults_spec) if faults_spec else None
    app = create_app(scenario, faults)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    base = f"http://{host}:{port}"
    log.info("fake API serving %s", scenario_path)
    log.info("  [github] api_url = %s            (GraphQL %s/graphql)", base, base)
    log.info("  [github] api_url = %s/api/v3     (GHES; GraphQL %s/api/graphql)", base, base)
    log.info("  [heroku] api_url = %s/heroku", base)
    log.info("  [pagerduty] api_url = %s/pagerduty", base)
    log.info("  stats: %s/_fake/stats   health: %s/healthz", base, base)
    if faults:
        log.info("  faults: %s", faults.spec)
    sock = _listening_socket(host, port)
    try:
        uvicorn.Server(_config(app)).run(sockets=[sock])
    finally:
        sock.close()
