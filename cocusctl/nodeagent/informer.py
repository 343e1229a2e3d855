"""List-then-watch of one collection, kept in a local store, with callbacks (client-go's informer, small).

A watch that expires (410 Gone) or breaks is followed by a fresh list; objects missing from it are
reported as deleted, so the store never keeps a ghost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from cocusctl.adapters.kubernetes import KubeApi, KubeApiError

Json = dict[str, Any]
Handler = Callable[[str, Json], None]
log = logging.getLogger("cocusctl.nodeagent.informer")


def key_of(obj: Json) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


class Informer(threading.Thread):
    def __init__(self, kube: KubeApi, path: str, handler: Handler, *, query: Mapping[str, Any] | None = None,
                 name: str = "informer") -> None:
        super().__init__(name=name, daemon=True)
        self.kube = kube
        self.path = path
        self.query = dict(query or {})
        self.handler = handler
        self.store: dict[str, Json] = {}
        self.synced = threading.Event()
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def _emit(self, kind: str, obj: Json) -> None:
        try:
            self.handler(kind, obj)
        except Exception:  # noqa: BLE001 - one bad object must not stop the informer
            log.exception("%s: handling %s %s failed", self.name, kind, key_of(obj))

    def _list(self) -> str:
        data = self.kube.request("GET", self.path, query=self.query)
        fresh = {key_of(item): item for item in data.get("items") or []}
        for gone in set(self.store) - set(fresh):
            self._emit("DELETED", self.store.pop(gone))
        for key, item in fresh.items():
            kind = "MODIFIED" if key in self.store else "ADDED"
            self.store[key] = item
            self._emit(kind, item)
        self.synced.set()
        return str((data.get("metadata") or {}).get("resourceVersion") or "")

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                version = self._list()
                while not self._stopped.is_set():
                    for event in self.kube.watch(self.path, query={**self.query, "resourceVersion": version},
                                                 timeout_seconds=240):
                        kind, obj = event.get("type"), event.get("object") or {}
                        version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                        if kind == "BOOKMARK":
                            continue
                        key = key_of(obj)
                        if kind == "DELETED":
                            self.store.pop(key, None)
                        else:
                            self.store[key] = obj
                        self._emit(str(kind), obj)
                        if self._stopped.is_set():
                            return
            except KubeApiError as exc:
                if exc.status != 410:
                    log.warning("%s: %s; listing again", self.name, exc.message)
                    self._stopped.wait(1.0)
            except Exception as exc:  # noqa: BLE001 - connection drops: list again after a pause
                log.warning("%s: %s: %s; listing again", self.name, type(exc).__name__, exc)
                self._stopped.wait(1.0)
            time.sleep(0.05)
