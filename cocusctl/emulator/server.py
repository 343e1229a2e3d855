"""Run the emulator: the Admin API on 127.0.0.1:PORT plus one router port per service and tag."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import signal
from pathlib import Path

from aiohttp import web

from cocusctl.core import local_secrets
from cocusctl.core.local_secrets import LocalSecretStore

from .api import build_app
from .controller import Controller
from .runtime import DockerRuntime
from .store import Store

HOST = "127.0.0.1"


def instance_id(state_dir: Path) -> str:
    return hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:16]


async def serve(port: int, state_dir: Path, info_file: Path | None = None, secrets_file: Path | None = None) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    secrets = LocalSecretStore(secrets_file or local_secrets.default_path())
    runtime = DockerRuntime(instance_id(state_dir), secrets)
    ctl = Controller(store=Store(state_dir), runtime=runtime)
    app = build_app(ctl)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port, reuse_address=True)
    await site.start()
    sockets = getattr(site._server, "sockets", None)
    bound = int(sockets[0].getsockname()[1]) if sockets else port
    endpoint = f"http://{HOST}:{bound}"
    ctl.api_base = endpoint
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await ctl.start()
        if info_file is not None:
            tmp = info_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"pid": os.getpid(), "endpoint": endpoint, "port": bound,
                                       "state_dir": str(state_dir), "secrets_file": str(secrets.path)}))
            os.replace(tmp, info_file)
        logging.getLogger("cocusctl.emulator").info("serving the Cloud Run Admin API v2 on %s", endpoint)
        await stop.wait()
    finally:
        await runner.cleanup()
        await ctl.close()
        if info_file is not None:
            info_file.unlink(missing_ok=True)
