#!/usr/bin/env python3
"""moto's server on loopback, corrected where moto 5.2.1 is not AWS (moto_corrections.py).

    INITIAL_NO_AUTH_ACTION_COUNT=3 python -m rig.moto_launcher --port 0 --port-file F

Auth stays on: the launcher refuses to start without INITIAL_NO_AUTH_ACTION_COUNT, which moto
reads once, when `moto.settings` is imported (default: infinity, i.e. never authenticate). How
moto counts, read in moto/core/authorization.py (`ActionAuthenticatorMixin`):

- One process-wide counter (`ActionAuthenticatorMixin.request_count`, a class attribute shared by
  every service, account, region and server thread, incremented without a lock).
- It moves in `_authenticate_and_authorize_action`, which runs once per request, before the
  action: from `BaseResponse.call_action` for the JSON and query services (DynamoDB, IAM, STS,
  SQS, Organizations, Identity Store, SSO Admin, ...) and from each S3 handler. While the counter
  is below the limit the request is let through unsigned and unchecked and the counter goes up
  by one, whether the action then succeeds or fails. From then on the counter stops and every
  such request is checked: SigV4 signature first, then the caller's IAM policies.
- Not counted, never authenticated: moto's own `/moto-api/...` endpoints (used here to see that
  the server is up) and any handler that bypasses both paths (none among the services the
  project uses: DynamoDB, SQS, S3, IAM, STS, Identity Store, SSO Admin, Organizations).
- After the limit, a request without an `Authorization` header fails with a server error (moto
  reads the header unguarded); `sts:GetCallerIdentity` is always allowed once the signature is
  right; POST `/moto-api/reset-auth` sets a new limit and restarts the count at zero.

The corrections are monkeypatches, in moto_corrections.py, applied before the server starts.

Besides the corrections, scale knobs for the benchmark (rig_knobs.py: `RigKnobs`, a WSGI
middleware in front of moto, off until configured): per-request latency and per-service rate
limits answered as AWS's throttling, request counts per service and operation, and the admin
routes under /_rig/ (loopback clients only), among them POST /_rig/organisation, which builds a
synthetic organisation in moto's backends in-process (moto_seeding.py).
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import sys
from pathlib import Path

from rig.moto_corrections import MOTO_VERSION, apply_patches
from rig.rig_knobs import RigKnobs

def _loopback(host: str) -> str:
    """Only a loopback address: moto answers anyone who can reach it, including /moto-api/reset."""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"not a loopback IP address: {host!r}")


def _require_auth_limit() -> None:
    """The unauthenticated setup calls allowed; without it moto would never check a request."""
    if not os.environ.get("INITIAL_NO_AUTH_ACTION_COUNT", "").isdigit():
        raise SystemExit("INITIAL_NO_AUTH_ACTION_COUNT must be set to a whole number: the rig keeps moto's auth on")


def _write_port(port_file: Path, port: int) -> None:
    """Written once the socket listens, by rename, so a reader never sees a partial file."""
    partial = port_file.with_name(port_file.name + ".partial")
    partial.write_text(str(port))
    partial.replace(port_file)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", type=_loopback, default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (see --port-file)")
    parser.add_argument("--port-file", type=Path, help="where to write the port once listening")
    args = parser.parse_args(argv)
    _require_auth_limit()
    apply_patches()

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    server = make_server(args.host, args.port, RigKnobs(DomainDispatcherApplication(create_backend_app)), threaded=True)
    if args.port_file:
        _write_port(args.port_file, server.server_port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"moto {MOTO_VERSION} (patched) on {args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
