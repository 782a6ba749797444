"""``python -m airflow_flink_operator.testing.apiserver``: serve until interrupted, print the URL."""

from __future__ import annotations

import threading

from airflow_flink_operator.testing import apiserver
from airflow_flink_operator.testing.apiserver.server import KubeApiEmulator


def main() -> None:
    """``python -m airflow_flink_operator.testing.apiserver``: serve until interrupted, print the URL."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m airflow_flink_operator.testing.apiserver",
                                     description=(apiserver.__doc__ or "").split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--crd-dir")
    args = parser.parse_args()
    server = KubeApiEmulator(crd_dir=args.crd_dir, port=args.port).start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
