"""create_app(), the lifespan, routers; nothing else."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from app.console.push_pages import router as console_push_router
from app.console.render import mount_static as mount_console_static
from app.console.router import router as console_router
from app.console.tickets_pages import router as console_tickets_router
from app.core.clock import Clock
from app.core.db import (
    make_engine,
    make_probe_engine,
    make_read_sessionmaker,
    make_sessionmaker,
)
from app.core.errors import install_error_handlers
from app.core.guard import RequestGuard
from app.core.maintenance import maintenance_lifespan
from app.core.metrics import GaugeRefresher, HttpMetricsMiddleware
from app.core.middleware import LastResortMiddleware, RequestIdMiddleware
from app.core.migrations import head_revisions
from app.core.redact import configure_secrets
from app.core.settings import Settings, get_settings
from app.health.router import router as health_router
from app.incidents.heartbeat_router import router as heartbeat_router
from app.incidents.lifespan import incidents_lifespan
from app.incidents.router import router as incidents_router
from app.incidents.webhook import router as webhook_router
from app.ops.router import router as ops_router
from app.push.incident_router import router as incident_push_router
from app.push.lifespan import push_lifespan
from app.push.router import router as push_router
from app.response.lifespan import response_lifespan
from app.retention.lifespan import retention_lifespan
from app.tickets.router import router as tickets_router

# Each domain's lifespan (clients, loops, runners), entered in order after the database is up;
# the maintenance loop last, once every domain has registered its jobs.
DOMAIN_LIFESPANS = (
    incidents_lifespan,
    response_lifespan,
    push_lifespan,
    retention_lifespan,
    maintenance_lifespan,
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    configure_secrets(settings.secret_values())
    engine = make_engine(settings)
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.read_sessionmaker = make_read_sessionmaker(engine)
    probe_engine = make_probe_engine(settings)
    app.state.probe_engine = probe_engine
    app.state.probe_sessionmaker = make_sessionmaker(probe_engine)
    app.state.schema_heads = head_revisions()
    try:
        async with AsyncExitStack() as stack:
            for domain_lifespan in DOMAIN_LIFESPANS:
                await stack.enter_async_context(domain_lifespan(app))
            # Start-up objects (imported modules, clients) live as long as the worker: keep
            # them out of the collector, whose full passes over them stall every request.
            gc.collect()
            gc.freeze()
            try:
                yield
            finally:
                gc.unfreeze()
    finally:
        await engine.dispose()
        await probe_engine.dispose()


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the service; tests pass their own settings and a fixed clock."""
    app = FastAPI(title="ops-backend", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings or get_settings()
    app.state.clock = clock or Clock()
    # core.deps.ScrapeHook, given the probe pool's sessionmaker; run by /metrics at most once
    # per METRICS_REFRESH_SECONDS.
    app.state.scrape_hooks = []
    app.state.gauge_refresher = GaugeRefresher(
        app.state.settings.METRICS_REFRESH_SECONDS, app.state.settings.DATABASE_TIMEOUT_SECONDS
    )
    app.state.maintenance_jobs = []  # (name, async (app) -> None), run by core.maintenance
    install_error_handlers(app)
    # Outermost last: request id → metrics → last-resort 500 → guard (NUL, auth, body limit).
    app.add_middleware(RequestGuard, fastapi_app=app)
    app.add_middleware(LastResortMiddleware)
    app.add_middleware(HttpMetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health_router)
    app.include_router(webhook_router)
    app.include_router(incidents_router)
    app.include_router(heartbeat_router)
    app.include_router(push_router)
    app.include_router(tickets_router)
    app.include_router(incident_push_router)
    app.include_router(ops_router)
    app.include_router(console_router)
    app.include_router(console_tickets_router)
    app.include_router(console_push_router)
    mount_console_static(app)
    return app
