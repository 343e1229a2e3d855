"""The FastAPI application factory."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import start_http_server

from . import __version__
from .api.routes import health_router, query_router
from .config import Settings, get_settings
from .errors import install_error_handlers
from .middleware import RequestMiddleware
from .state import Services

log = logging.getLogger("cocus_rag")


def create_app(settings: Settings | None = None, preload: Future | None = None) -> FastAPI:
    """Build the app; raises ``ConfigError`` for settings that must not serve (e.g. no API key).

    ``preload`` is an index load already under way (see ``loader.start_background_load``).
    """
    settings = settings or get_settings()
    settings.check()
    services = Services.create(settings, preload)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.auth_disabled and not settings.api_key_list:
            log.warning("authentication is DISABLED (COCUS_AUTH_DISABLED=true): /v1 is open to anyone")
        elif settings.auth_disabled:
            log.warning("COCUS_AUTH_DISABLED=true is ignored: API keys are configured and enforced")
        await services.start()
        if services.gate.configured and not await services.gate.ping():
            log.warning("redis is configured but not reachable; answering without cache")
        metrics_server = None
        if settings.metrics_port:
            # Its own port, so a public service never exposes /metrics on the port its users reach.
            metrics_server, _ = start_http_server(settings.metrics_port, settings.host, services.metrics.registry)
            log.info("metrics on port %d only", settings.metrics_port)
        yield
        if metrics_server is not None:
            metrics_server.shutdown()
            metrics_server.server_close()
        await services.close()

    app = FastAPI(
        title="cocus RAG service",
        version=__version__,
        description="Answers questions over the bundled Python 3.11 documentation with cited sources.",
        lifespan=lifespan,
    )
    app.state.services = services
    install_error_handlers(app)
    app.include_router(query_router)
    app.include_router(health_router)
    if settings.cors_origin_list:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origin_list, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type"])
    app.add_middleware(RequestMiddleware, metrics=services.metrics, max_body_bytes=settings.max_body_bytes,
                       project=settings.google_cloud_project, log_questions=settings.log_questions)
    return app
