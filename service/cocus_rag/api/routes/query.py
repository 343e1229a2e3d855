"""``POST /v1/query``: retrieve, generate, cite."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from ...deps import RateLimitedPrincipal, ServicesDep
from ...errors import InvalidRequest, NotReady
from ...schemas import ErrorResponse, QueryRequest, QueryResponse, Source, Timings

router = APIRouter(prefix="/v1", tags=["query"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 413, 422, 429, 502, 503)
}


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


@router.post("/query", response_model=QueryResponse, responses=_ERRORS,
             summary="Answer a question from the indexed documentation, with cited sources")
async def query(body: QueryRequest, request: Request, services: ServicesDep,
                _principal: RateLimitedPrincipal) -> QueryResponse:
    t0 = time.perf_counter()
    settings = services.settings
    question = body.question.strip()
    if not question:
        raise InvalidRequest("question: must not be blank")
    if len(question) > settings.max_question_chars:
        raise InvalidRequest(f"question: at most {settings.max_question_chars} characters allowed")
    top_k = body.top_k or settings.default_top_k
    if top_k > settings.max_top_k:
        raise InvalidRequest(f"top_k: at most {settings.max_top_k} allowed")
    index, retriever = services.index, services.retriever
    if index is None or retriever is None:
        raise NotReady("the index is not loaded yet")
    request.state.question = question

    key = services.cache.key(question, index.version, settings.retrieval_mode, services.generator.name, top_k)
    cached = await services.cache.get(key)
    if cached is not None:
        request.state.cache = "hit"
        cached["cached"] = True
        cached["timings"] = Timings(retrieval_ms=0.0, generation_ms=0.0,
                                    total_ms=round((time.perf_counter() - t0) * 1000, 3))
        return QueryResponse.model_validate(cached)

    t1 = time.perf_counter()
    hits = await retriever.search(question, top_k)
    t2 = time.perf_counter()
    services.metrics.retrieval_latency.observe(t2 - t1)
    try:
        generation = await services.generator.generate(question, hits)
    except Exception:
        services.metrics.generation_errors.labels(services.generator.name).inc()
        raise
    t3 = time.perf_counter()
    services.metrics.generation_latency.labels(services.generator.name).observe(t3 - t2)

    base = settings.doc_base_url
    sources = [Source(id=h.chunk.doc_id, title=h.chunk.title, section=h.chunk.section,
                      url=base + h.chunk.doc_id + (f"#{h.chunk.anchor}" if h.chunk.anchor else ""),
                      score=round(h.score, 6), snippet=_snippet(h.chunk.text), chunk_id=h.chunk_id)
               for h in hits]
    response = QueryResponse(
        answer=generation.answer, sources=sources, generator=services.generator.name, model=generation.model,
        index_version=index.version, cached=False,
        timings=Timings(retrieval_ms=round((t2 - t1) * 1000, 3), generation_ms=round((t3 - t2) * 1000, 3),
                        total_ms=round((time.perf_counter() - t0) * 1000, 3)))
    if services.cache.enabled:
        request.state.cache = "miss"
        await services.cache.set(key, response.model_dump(exclude={"timings", "cached"}))
    return response
