"""``cookiegate demo``: serve the sample shop behind the gate with uvicorn on this machine.

The listening socket is bound before the URL is announced, so a busy port is a clear error instead of a
printed URL followed by uvicorn's traceback, and uvicorn serves that same socket (no window in between).
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path
from typing import Any

from cookiegate.keyfile import KEY_FILE_ENV, KEYS_ENV, generate

DEFAULT_PORT = 8000


def register(commands: Any) -> None:
    """Add the ``demo`` command to ``commands`` (what ``ArgumentParser.add_subparsers`` returns)."""
    demo: argparse.ArgumentParser = commands.add_parser(
        "demo",
        help="run the sample shop behind the gate on localhost",
        description="Serve a small shop that sets analytics and advertising cookies, wrapped by the gate, "
        "so you can watch the banner and the blocking in a browser.",
    )
    demo.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    demo.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        metavar="PORT",
        help=f"port to listen on (default {DEFAULT_PORT})",
    )
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=Path("./cookiegate-data"),
        metavar="DIR",
        help="folder for the demo's SQLite access log, consent ledger and signing key (default ./cookiegate-data)",
    )
    demo.set_defaults(handler=lambda args, clock=None: serve(args.host, args.port, args.data_dir))


def port_number(text: str) -> int:
    """argparse type for ``--port``: 0 (any free port) to 65535."""
    if not text.isdigit() or int(text) > 65_535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return int(text)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; raises ``OSError`` with a message saying what to change."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a demo restarted right after a stop may rebind while old connections sit in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise OSError(
                exc.errno,
                f"port {port} on {host} is already in use (another cookiegate demo?): "
                f"stop it, or pick another port with --port {port + 1}",
            ) from exc
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


def serve(host: str, port: int, data_dir: Path) -> int:
    """Bind, announce, serve until Ctrl-C; exit status 2 when the address cannot be used."""
    import uvicorn  # only the demo needs it (the `demo` extra)

    from cookiegate.demo import create_app

    try:
        sock = bind(host, port)
    except OSError as exc:
        print(f"cookiegate demo: {exc.strerror}", file=sys.stderr)
        return 2
    key_note = _demo_encryption_keys(data_dir)
    shown = f"[{host}]" if ":" in host else host
    port = sock.getsockname()[1]  # the real one when --port 0 asked for any free port
    config = uvicorn.Config(
        create_app(data_dir),
        log_level="warning",
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default, so any local client could write a
        # forged address into the statutory access log (통신비밀보호법 시행령 제41조). The demo has no proxy.
        proxy_headers=False,
        forwarded_allow_ips="",
    )
    print(f"cookiegate demo: http://{shown}:{port}/  (data in {data_dir.resolve()}; Ctrl-C stops)", flush=True)
    if key_note:
        print(f"cookiegate demo: {key_note}", flush=True)
    with sock:
        uvicorn.Server(config).run(sockets=[sock])
    return 0


def _demo_encryption_keys(data_dir: Path) -> str:
    """Turn on encryption at rest for the demo unless keys are configured: a key file BESIDE the data dir.

    개인정보 보호법 제29조 and 안전성 확보조치 기준 제7조 want stored addresses encrypted with the key kept apart
    from the data, so the demo makes ``<data-dir>-keys/keys.json`` (mode 600) next to its data folder and points
    ``COOKIEGATE_KEY_FILE`` at it; the gate and its ingest process (which inherits the environment) read it.
    """
    if os.environ.get(KEYS_ENV) or os.environ.get(KEY_FILE_ENV):
        return ""
    folder = data_dir.resolve()
    key_file = folder.parent / f"{folder.name}-keys" / "keys.json"
    if not key_file.exists():
        key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        generate(key_file, data_dir=folder)
    os.environ[KEY_FILE_ENV] = str(key_file)
    return f"client addresses are encrypted at rest with the keys in {key_file} (keep them apart from the data)"
