"""Annotated dependencies shared by the routes."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from .config import Settings
from .errors import RateLimited, Unauthorized
from .state import Services


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_app_settings(services: ServicesDep) -> Settings:
    return services.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def _matches(candidate: bytes, keys: list[bytes]) -> bool:
    # Compare against every key (no early exit) so timing does not reveal which prefix matched.
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(candidate, key)
    return ok


async def require_api_key(
    services: ServicesDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> str:
    """Returns the caller's principal: a short hash of its key (never the key itself)."""
    settings = services.settings
    if settings.auth_disabled and not settings.api_key_list:
        return "anonymous"
    supplied = x_api_key
    if supplied is None and authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer":
            supplied = token.strip()
    if not supplied:
        services.metrics.auth_failures.inc()
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                           headers={"WWW-Authenticate": "Bearer"})
    keys = [k.encode() for k in settings.api_key_list]
    if not _matches(supplied.encode(), keys):
        services.metrics.auth_failures.inc()
        raise Unauthorized("invalid API key", headers={"WWW-Authenticate": "Bearer"})
    return hashlib.sha256(supplied.encode()).hexdigest()[:16]


Principal = Annotated[str, Depends(require_api_key)]


async def rate_limit(services: ServicesDep, principal: Principal) -> str:
    decision = await services.limiter.hit(principal)
    if not decision.allowed:
        services.metrics.rate_limited.inc()
        raise RateLimited(f"rate limit of {services.limiter.limit} requests per minute exceeded",
                          headers={"Retry-After": str(decision.retry_after)})
    return principal


RateLimitedPrincipal = Annotated[str, Depends(rate_limit)]
