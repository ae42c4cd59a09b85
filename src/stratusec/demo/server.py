"""The demo server process: moto in server mode on 127.0.0.1, seeded, until SIGTERM.

Run as ``python -m stratusec.demo.server --state FILE [--port N]``. When the account is
seeded it writes FILE (JSON: pid, port, url, account id, seed facts) atomically; the
parent waits for that file. Logs go to stderr (the parent points it at a log file).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path


def write_state(path: Path, data: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".demo.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stratusec-demo-server")
    parser.add_argument("--state", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    # AWS managed policies (AdministratorAccess, ...) must exist before moto is imported.
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    log = logging.getLogger("stratusec.demo")

    from moto.server import ThreadedMotoServer

    from stratusec.demo import DEMO_ACCOUNT_ID, DEMO_ACCOUNT_NAME, DEMO_REGIONS
    from stratusec.demo.emulator import patch_moto
    from stratusec.demo.seed import Seeder

    patch_moto()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    log.info("moto listening on %s", url)
    started = time.time()
    facts = Seeder(url, log.info).run()
    log.info("seeded %s in %.1f s", DEMO_ACCOUNT_NAME, time.time() - started)
    write_state(
        args.state,
        {
            "pid": os.getpid(),
            "port": port,
            "url": url,
            "account_name": DEMO_ACCOUNT_NAME,
            "account_id": DEMO_ACCOUNT_ID,
            "regions": DEMO_REGIONS,
            "started_at": started,
            "facts": facts,
        },
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    log.info("stopping")
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
