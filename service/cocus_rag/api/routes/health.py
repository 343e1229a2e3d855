"""Operational endpoints: liveness, readiness, Prometheus metrics, version."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...deps import ServicesDep
from ...schemas import Health, Readiness, VersionInfo

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness: the process is serving HTTP")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}},
            summary="Readiness: the index and embedding model are loaded and queries can be answered")
async def readyz(services: ServicesDep) -> JSONResponse:
    if services.gate.configured:
        redis = "up" if services.gate.available() is not None else "bypassed"
    else:
        redis = "disabled"
    body = Readiness(status="ready" if services.ready else "loading" if services.load_error is None else "failed",
                     index_loaded=services.ready, redis=redis)
    return JSONResponse(body.model_dump(), status_code=200 if services.ready else 503)


@router.get("/metrics", summary="Prometheus metrics (404 here when COCUS_METRICS_PORT serves them)",
            response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    if services.settings.metrics_port:
        raise StarletteHTTPException(404)
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/version", response_model=VersionInfo, summary="Build, revision and index information")
async def version(services: ServicesDep) -> VersionInfo:
    s, index = services.settings, services.index
    return VersionInfo(
        version=s.version, git_revision=s.git_revision, k_service=s.k_service or None,
        k_revision=s.k_revision or None, index_version=index.version if index else None,
        embedding_model=index.model_id if index else None, retrieval_mode=s.retrieval_mode,
        generator=services.generator.name,
        corpus_documents=index.n_documents if index else None, corpus_chunks=index.n_chunks if index else None)
