"""``python -m cocus_rag`` / ``cocus-rag``: serve, export-model, embed-chunks, build-index, settings-schema."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .buildcli import add_build_commands
from .buildcli import fail as _fail


def cmd_serve(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from .config import ConfigError, get_settings, unknown_variables
    from .logs import configure_logging

    unknown = unknown_variables(os.environ)
    if unknown:
        return _fail(f"unknown setting {', '.join(unknown)}: this service does not read it "
                     "(`python -m cocus_rag settings-schema` lists what it reads)")
    try:
        settings = get_settings()
        if args.port is not None:
            settings.port = args.port
        if args.host is not None:
            settings.host = args.host
        settings.check()
    except ValidationError as exc:
        first = exc.errors()[0]
        return _fail(f"invalid setting {'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
    except ConfigError as exc:
        return _fail(str(exc))
    configure_logging(settings.log_level)
    from .loader import start_background_load

    # COCUS_PRELOAD=false loads the index after the framework imports instead (for comparison).
    preload = start_background_load(settings.model_dir, settings.index_dir) if settings.preload else None
    import uvicorn

    from .main import create_app

    class _Server(uvicorn.Server):
        # uvicorn re-raises SIGTERM after a graceful shutdown (exit 143); a completed drain exits 0.
        def handle_exit(self, sig, frame) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

    # uvicorn's stub says int, but it waits with asyncio.wait_for, which takes fractional seconds.
    drain: Any = settings.graceful_timeout
    config = uvicorn.Config(create_app(settings, preload), host=settings.host, port=settings.port, log_config=None,
                            access_log=False, timeout_graceful_shutdown=drain,
                            lifespan="on", server_header=False, proxy_headers=False)
    _Server(config).run()
    return 0


def cmd_settings_schema(args: argparse.Namespace) -> int:
    import json

    from .config import settings_schema

    print(json.dumps(settings_schema(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cocus-rag", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the HTTP API (settings from the environment)")
    s.add_argument("--host", default=None, help="bind address (default COCUS_HOST or 0.0.0.0)")
    s.add_argument("--port", type=int, default=None, help="port (default $PORT or 8080)")
    s.set_defaults(func=cmd_serve)
    add_build_commands(sub)
    sub.add_parser("settings-schema", help="print the settings this service reads (JSON)").set_defaults(
        func=cmd_settings_schema)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
