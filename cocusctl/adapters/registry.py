"""OCI registries: credentials for the engine's push, and a small Docker Registry HTTP API v2 client.

Credentials:
- Artifact Registry (`*-docker.pkg.dev`): Google application-default credentials via google-auth, used as
  username `oauth2accesstoken` and the access token as password (no gcloud binary needed).
- Other registries: `registry.username`/`password` from the config when set, else the engine uses the
  Docker credentials it already has (`~/.docker/config.json`).

The HTTP client (httpx) speaks the Distribution API: the `/v2/` ping, manifest HEAD/GET/PUT, blob
HEAD/GET, cross-repository blob mounts and monolithic uploads, with Basic or Bearer-token auth taken
from the registry's `WWW-Authenticate` challenge.

`RegistryClient(src_registry).copy_by_digest(src_ref, dst_registry, image=None)` copies one image by
digest to another registry/repository and returns the destination reference, whose digest is identical
(the manifest bytes are copied unchanged). The promote command reuses it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import tempfile
from collections.abc import Callable, Generator, Iterator
from typing import IO, TYPE_CHECKING, Any

import httpx

from cocusctl.adapters.google_auth import access_token
from cocusctl.core.errors import CloudApiError, NotAvailableError, PushError, UsageError
from cocusctl.core.images import DIGEST, ImageRef

if TYPE_CHECKING:
    from cocusctl.core.config import RegistryConfig

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[0], MANIFEST_TYPES[2]
AR_USERNAME = "oauth2accesstoken"
_CHUNK = 1 << 20


class _ChallengeAuth(httpx.Auth):
    """httpx auth flow: on a 401, answer the registry's Basic or Bearer challenge (token cached per scope)."""

    def __init__(self, credentials: Callable[[], tuple[str, str] | None]) -> None:
        self._provider = credentials
        self._credentials: tuple[str, str] | None = None
        self._fetched = False
        self.tokens: dict[str, str] = {}

    @property
    def credentials(self) -> tuple[str, str] | None:
        if not self._fetched:  # only when a registry asks: anonymous registries never need credentials
            self._credentials = self._provider()
            self._fetched = True
        return self._credentials

    def _basic(self) -> str | None:
        if self.credentials is None:
            return None
        raw = f"{self.credentials[0]}:{self.credentials[1]}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("www-authenticate", "")
        scheme, _, params_text = challenge.partition(" ")
        params = dict(re.findall(r'(\w+)="([^"]*)"', params_text))
        if scheme.lower() == "basic":
            basic = self._basic()
            if basic is None:
                return
            request.headers["Authorization"] = basic
        elif scheme.lower() == "bearer" and "realm" in params:
            scope = params.get("scope", "")
            token = self.tokens.get(scope)
            if token is None:
                query = {k: v for k, v in params.items() if k in ("service", "scope")}
                basic = self._basic()
                headers = {"Authorization": basic} if basic else {}
                token_response = httpx.get(params["realm"], params=query, headers=headers, timeout=30)
                if token_response.status_code != 200:
                    return
                body = token_response.json()
                token = body.get("token") or body.get("access_token")
                if not token:
                    return
                self.tokens[scope] = token
            request.headers["Authorization"] = f"Bearer {token}"
        else:
            return
        yield request


class RegistryClient:
    """One registry (the config's host); every call names its repository."""

    def __init__(self, registry: RegistryConfig, *, timeout: float = 60.0, token_provider: Any = None) -> None:
        self.config = registry
        self.timeout = timeout
        self._token_provider = token_provider or access_token
        self._http: httpx.Client | None = None

    # --- credentials ------------------------------------------------------------------------------
    def credentials(self) -> tuple[str, str] | None:
        """(username, password) for this registry, or None to use the engine's Docker credentials."""
        if self.config.is_artifact_registry:
            return AR_USERNAME, self._token_provider()
        if self.config.username:
            password = self.config.password.get_secret_value() if self.config.password else ""
            return self.config.username, password
        return None

    def docker_auth_config(self) -> dict[str, str] | None:
        creds = self.credentials()
        if creds is None:
            return None
        return {"username": creds[0], "password": creds[1], "serveraddress": self.config.netloc}

    # --- HTTP -------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        scheme = "http" if self.config.insecure else "https"
        return f"{scheme}://{self.config.netloc}"

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            auth = _ChallengeAuth(self.credentials)
            self._http = httpx.Client(
                base_url=self.base_url, timeout=self.timeout, follow_redirects=True, auth=auth
            )
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _request(self, method: str, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise NotAvailableError(
                f"registry {self.config.netloc} not reachable: {type(exc).__name__}: {exc}",
                hint="check registry.url (scripts/local-stack.sh up starts the local one)",
            ) from exc

    def ping(self) -> int:
        """GET /v2/: 200 (open) or 401 (auth required) mean a Distribution API answers; returns the status."""
        response = self._request("GET", "/v2/", auth=_no_auth)
        if response.status_code not in (200, 401):
            raise CloudApiError(f"registry {self.config.netloc} answered /v2/ with HTTP {response.status_code}")
        return response.status_code

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """HEAD the manifest: its digest, or None when absent."""
        response = self._request(
            "HEAD", f"/v2/{repository}/manifests/{reference}", headers={"Accept": ", ".join(MANIFEST_TYPES)}
        )
        if response.status_code == 404:
            return None
        _raise_for(response, f"manifest {repository}:{reference}")
        digest = response.headers.get("docker-content-digest")
        if not digest:  # some registries only send it on GET
            return self.get_manifest(repository, reference)[2]
        return digest

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str, str]:
        """(raw bytes, media type, digest) of a manifest; the digest is computed from the bytes."""
        response = self._request(
            "GET", f"/v2/{repository}/manifests/{reference}", headers={"Accept": ", ".join(MANIFEST_TYPES)}
        )
        if response.status_code == 404:
            raise NotAvailableError(f"{self.config.netloc}/{repository}:{reference} not found in the registry")
        _raise_for(response, f"manifest {repository}:{reference}")
        raw = response.content
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        if DIGEST.match(reference) and digest != reference:
            raise CloudApiError(f"manifest {repository}@{reference} has digest {digest} (corrupt or altered)")
        media_type = response.headers.get("content-type", "").split(";")[0] or _media_type_of(raw)
        return raw, media_type, digest

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> str:
        response = self._request(
            "PUT", f"/v2/{repository}/manifests/{reference}", content=raw, headers={"Content-Type": media_type}
        )
        _raise_for(response, f"manifest upload to {repository}", error=PushError)
        return response.headers.get("docker-content-digest") or "sha256:" + hashlib.sha256(raw).hexdigest()

    def blob_exists(self, repository: str, digest: str) -> bool:
        response = self._request("HEAD", f"/v2/{repository}/blobs/{digest}")
        if response.status_code == 404:
            return False
        _raise_for(response, f"blob {digest[:19]} in {repository}")
        return True

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Cross-repository mount (same registry): True when mounted, False when the registry declined."""
        response = self._request(
            "POST", f"/v2/{repository}/blobs/uploads/", params={"mount": digest, "from": from_repository}
        )
        if response.status_code == 201:
            return True
        if response.status_code == 202:  # declined: it opened an ordinary upload instead; cancel it
            location = response.headers.get("location")
            if location:
                self._request("DELETE", location)
            return False
        _raise_for(response, f"blob mount of {digest[:19]} into {repository}", error=PushError)
        return False

    def upload_blob(self, repository: str, digest: str, data: IO[bytes], size: int) -> None:
        """Monolithic upload: POST to open the session, then PUT the bytes with `?digest=`."""
        opened = self._request("POST", f"/v2/{repository}/blobs/uploads/")
        _raise_for(opened, f"upload to {repository}", error=PushError)
        location = opened.headers.get("location")
        if not location:
            raise PushError(f"registry {self.config.netloc} gave no upload location for {repository}")
        data.seek(0)

        def chunks() -> Iterator[bytes]:
            while block := data.read(_CHUNK):
                yield block

        # Keep the registry's own query (`_state`): `params=` would replace it.
        target = httpx.URL(location).copy_add_param("digest", digest)
        response = self._request(
            "PUT",
            target,
            content=chunks(),
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )
        _raise_for(response, f"upload of blob {digest[:19]} to {repository}", error=PushError)

    def download_blob(self, repository: str, digest: str, into: IO[bytes]) -> int:
        """Stream a blob into a file, verifying its sha256; returns its size."""
        hasher = hashlib.sha256()
        size = 0
        try:
            with self.http.stream("GET", f"/v2/{repository}/blobs/{digest}") as response:
                if response.status_code != 200:
                    response.read()
                    _raise_for(response, f"blob {digest[:19]} in {repository}")
                for block in response.iter_bytes(_CHUNK):
                    hasher.update(block)
                    into.write(block)
                    size += len(block)
        except httpx.HTTPError as exc:
            raise NotAvailableError(f"registry {self.config.netloc} not reachable: {exc}") from exc
        if "sha256:" + hasher.hexdigest() != digest:
            raise CloudApiError(f"blob {digest} from {self.config.netloc}/{repository} failed its digest check")
        return size

    # --- copying ----------------------------------------------------------------------------------
    def copy_by_digest(
        self, src_ref: str, dst_registry: RegistryConfig, image: str | None = None, *, mount: bool = True
    ) -> str:
        """Copy `src_ref` (on this registry, pinned by digest) into `dst_registry`; returns `DST/IMAGE@DIGEST`.

        `image` is the repository name under the destination's path (default: the last component of the
        source repository). Blobs already present are skipped; on the same registry they are mounted
        (`mount=True`), otherwise streamed through a temp file and uploaded. The manifest bytes are put
        unchanged, so the destination digest equals the source digest (checked).
        """
        src = ImageRef.pinned(src_ref)
        assert src.digest is not None
        if src.registry != self.config.netloc:
            raise UsageError(f"{src_ref} is not on registry {self.config.netloc}")
        dst_repo = f"{dst_registry.repository}/{image or src.repository.rsplit('/', 1)[-1]}"
        same_registry = dst_registry.netloc == self.config.netloc
        dst = self if same_registry and dst_registry.insecure == self.config.insecure else RegistryClient(
            dst_registry, timeout=self.timeout
        )
        try:
            self._copy_manifest(src.repository, src.digest, dst, dst_repo, mount=mount and same_registry)
        finally:
            if dst is not self:
                dst.close()
        return f"{dst_registry.netloc}/{dst_repo}@{src.digest}"

    def _copy_manifest(self, src_repo: str, digest: str, dst: RegistryClient, dst_repo: str, *, mount: bool) -> None:
        import json

        raw, media_type, _ = self.get_manifest(src_repo, digest)
        manifest = json.loads(raw)
        if media_type in INDEX_TYPES or "manifests" in manifest:
            for child in manifest.get("manifests", []):
                if dst.manifest_digest(dst_repo, child["digest"]) is None:
                    self._copy_manifest(src_repo, child["digest"], dst, dst_repo, mount=mount)
        else:
            blobs = [manifest["config"], *manifest.get("layers", [])]
            for blob in blobs:
                self._copy_blob(src_repo, blob["digest"], int(blob.get("size", 0)), dst, dst_repo, mount=mount)
        put = dst.put_manifest(dst_repo, digest, raw, media_type)
        if put != digest:
            raise PushError(f"registry stored the manifest as {put}, expected {digest}")

    def _copy_blob(
        self, src_repo: str, digest: str, size: int, dst: RegistryClient, dst_repo: str, *, mount: bool
    ) -> None:
        if dst.blob_exists(dst_repo, digest):
            return
        if mount and dst.mount_blob(dst_repo, digest, src_repo):
            return
        with tempfile.TemporaryFile() as spool:
            actual = self.download_blob(src_repo, digest, spool)
            dst.upload_blob(dst_repo, digest, spool, actual)


def _no_auth(request: httpx.Request) -> httpx.Request:
    return request


def _media_type_of(raw: bytes) -> str:
    import json

    try:
        return str(json.loads(raw).get("mediaType") or MANIFEST_TYPES[1])
    except ValueError:
        return MANIFEST_TYPES[1]


def _raise_for(response: httpx.Response, what: str, *, error: type[Exception] = CloudApiError) -> None:
    if response.status_code < 400:
        return
    detail = ""
    try:
        errors = response.json().get("errors") or []
        if errors:
            detail = f": {errors[0].get('code', '')} {errors[0].get('message', '')}".rstrip()
    except ValueError:
        pass
    if response.status_code in (401, 403):
        raise error(f"{what}: access denied (HTTP {response.status_code}){detail}")
    raise error(f"{what}: HTTP {response.status_code}{detail}")
