"""Prometheus metrics, one registry per app instance (tests build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, ProcessCollector

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
                    2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # process_cpu_seconds_total, process_resident_memory_bytes, process_start_time_seconds, ...: the
        # infrastructure dashboard's CPU, memory and restarts per instance, the same on every platform.
        ProcessCollector(registry=r)
        self.http_latency = Histogram("cocus_http_request_duration_seconds", "HTTP request latency.",
                                      ["method", "route", "status"], buckets=_LATENCY_BUCKETS, registry=r)
        self.http_in_flight = Gauge("cocus_http_requests_in_flight", "Requests being served.", registry=r)
        self.retrieval_latency = Histogram("cocus_retrieval_duration_seconds", "Hybrid retrieval latency.",
                                           buckets=_LATENCY_BUCKETS, registry=r)
        self.retrieval_batch = Histogram("cocus_retrieval_batch_size", "Questions searched together per batch.",
                                         buckets=(1, 2, 4, 8, 16, 32), registry=r)
        self.generation_latency = Histogram("cocus_generation_duration_seconds", "Answer generation latency.",
                                            ["generator"], buckets=_LATENCY_BUCKETS, registry=r)
        self.generation_errors = Counter("cocus_generation_errors_total", "Failed generator calls.",
                                         ["generator"], registry=r)
        self.cache = Counter("cocus_cache_requests_total", "Answer cache lookups by result.", ["result"],
                             registry=r)
        self.redis_errors = Counter("cocus_redis_errors_total", "Redis errors (timeouts, refused, ...).",
                                    ["operation"], registry=r)
        self.rate_limited = Counter("cocus_rate_limited_total", "Requests rejected with 429.", registry=r)
        self.auth_failures = Counter("cocus_auth_failures_total", "Requests rejected with 401.", registry=r)
        self.index_chunks = Gauge("cocus_index_chunks", "Chunks in the loaded index.", registry=r)
        self.index_documents = Gauge("cocus_index_documents", "Documents in the loaded index.", registry=r)
        self.ready = Gauge("cocus_ready", "1 when the index and model are loaded.", registry=r)
        self.build_info = Info("cocus_build", "Build and index information.", registry=r)
