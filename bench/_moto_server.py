"""moto in server mode with the demo emulator's gap fills, for benchmarks (own process).

python bench/_moto_server.py PORT
"""

from __future__ import annotations

import logging
import sys
import threading

from moto.server import ThreadedMotoServer

from stratusec.demo.emulator import patch_moto

if __name__ == "__main__":
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    patch_moto()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
    server.start()
    threading.Event().wait()
