"""Google credentials from Application Default Credentials (google-auth; no gcloud binary).

The one place cocusctl asks for Google tokens: access tokens for Artifact Registry and Secret Manager,
ID tokens for calling a private Cloud Run service. Missing credentials are `NotAvailableError` (exit 3)
with the command that fixes them.
"""

from __future__ import annotations

from typing import Any

from cocusctl.core.errors import CloudApiError, NotAvailableError

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
ADC_HINT = "run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"


def _google_auth() -> Any:
    try:
        import google.auth
        import google.auth.exceptions
        import google.auth.transport.requests
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise NotAvailableError("google-auth is not installed", hint="pip install 'cocusctl[build]'") from exc
    return google.auth


def access_token() -> str:
    """An OAuth2 access token (cloud-platform scope) from application-default credentials."""
    auth = _google_auth()
    try:
        credentials, _ = auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
        credentials.refresh(auth.transport.requests.Request())
    except auth.exceptions.DefaultCredentialsError as exc:
        raise NotAvailableError("no Google application-default credentials found", hint=ADC_HINT) from exc
    except auth.exceptions.GoogleAuthError as exc:
        raise CloudApiError(f"could not get a Google access token: {exc}") from exc
    return str(credentials.token)


def id_token(audience: str) -> str:
    """An ID token for `audience` (a service URL), as a private Cloud Run service expects."""
    auth = _google_auth()
    from google.oauth2 import id_token as oauth2_id_token

    try:
        return str(oauth2_id_token.fetch_id_token(auth.transport.requests.Request(), audience))
    except auth.exceptions.DefaultCredentialsError as exc:
        raise NotAvailableError("no Google credentials that can mint ID tokens", hint=ADC_HINT) from exc
    except auth.exceptions.GoogleAuthError as exc:
        raise CloudApiError(f"could not get a Google ID token: {exc}") from exc
