"""`python -m cocusctl.emulator --port N --state-dir DIR [--secrets-file F]`: run the emulator in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from .server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cocusctl.emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--info-file", type=Path, default=None)
    parser.add_argument("--secrets-file", type=Path, default=None,
                        help="the local secret store revisions' secret references resolve from")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(args.port, args.state_dir, args.info_file, args.secrets_file))


if __name__ == "__main__":
    main()
