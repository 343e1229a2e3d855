"""`python -m cocusctl.nodeagent --config FILE`: run the node agent until SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from cocusctl.adapters.kubernetes import KubernetesClient
from cocusctl.nodeagent.agent import NodeAgent
from cocusctl.nodeagent.config import AgentConfig
from cocusctl.nodeagent.runtime import DockerRuntime


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cocusctl.nodeagent", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="JSON written by `cocusctl cluster start`")
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    config = AgentConfig.load(args.config)
    runtime = DockerRuntime()
    agent = NodeAgent(config, KubernetesClient.from_kubeconfig(config.kubeconfig), runtime,
                      str(runtime.client.version().get("Version", "?")))

    def on_signal(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=agent.stop, name="shutdown").start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    agent.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
