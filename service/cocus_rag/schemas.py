"""Request and response models (they are the OpenAPI contract)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1, max_length=20_000, description="The question in natural language.",
                          examples=["How do I create a virtual environment?"])
    top_k: int | None = Field(None, ge=1, le=100, description="Number of sources to return (default 5).")


class Source(BaseModel):
    id: str = Field(..., description="Document id: path relative to the documentation root.",
                    examples=["library/venv.html"])
    title: str
    section: str
    url: str
    score: float
    snippet: str
    chunk_id: int


class Timings(BaseModel):
    retrieval_ms: float
    generation_ms: float
    total_ms: float


class QueryResponse(BaseModel):
    answer: str
    sources: list[Source]
    generator: str
    model: str
    index_version: str
    cached: bool
    timings: Timings


class ErrorDetail(BaseModel):
    code: str
    message: str
    request_id: str | None = None
    details: list | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    index_loaded: bool
    redis: str


class VersionInfo(BaseModel):
    version: str
    git_revision: str
    k_service: str | None
    k_revision: str | None
    index_version: str | None = Field(..., description="Hash of corpus, model, chunking and index format.")
    embedding_model: str | None = Field(..., description="Model that embedded the chunks: name@sha256[:12].")
    retrieval_mode: str
    generator: str
    corpus_documents: int | None
    corpus_chunks: int | None
