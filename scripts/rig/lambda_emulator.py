#!/usr/bin/env python3
"""Local emulator of the AWS Lambda Runtime API (2018-06-01) for custom runtimes.

Runs a built `bootstrap` end to end the way Lambda's provided.al2023 runtime does:
spawns it with the Lambda environment, serves the Runtime API on loopback, hands out
events one at a time and records what the function answers, together with the
process-level numbers that matter for a custom runtime (cold start, connection reuse,
peak RSS). Standard library only, so it runs wherever Python 3.11 does.

    result = run_function("./bootstrap", [{"hello": "world"}])
"""
from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit

API_VERSION = "2018-06-01"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
TERM_GRACE_SECONDS = 2.0
INIT_ERROR_EXIT_GRACE_SECONDS = 2.0
_NEXT_PATH = f"/{API_VERSION}/runtime/invocation/next"
_INIT_ERROR_PATH = f"/{API_VERSION}/runtime/init/error"
_INVOCATION_PATH = re.compile(rf"^/{API_VERSION}/runtime/invocation/([^/]+)/(response|error)$")
_ACCEPTED = {"status": "OK"}
_TOO_LARGE = {
    "errorMessage": f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
    "errorType": "RequestEntityTooLarge",
}


@dataclass
class Invocation:
    """One event and what the function did with it; request_id is None until handed out."""

    request_id: str | None
    event: Any
    status: str = "pending"  # "success" | "error" | "pending"
    response: Any = None  # parsed JSON, or the raw text when it is not JSON
    error: dict | None = None
    error_type_header: str | None = None
    error_content_type: str | None = None
    duration_ms: float | None = None


@dataclass
class EmulatorResult:
    """Everything observed during one run of a bootstrap."""

    invocations: list[Invocation]
    init_error: dict | None
    exit_code: int | None  # negative: killed by that signal; None: the emulator had to stop it
    stdout_lines: list[str]
    stderr_lines: list[str]
    cold_start_ms: float | None
    first_invocation_ms: float | None
    next_requests: int
    connections: int
    peak_rss_kb: int | None
    timed_out: bool
    pid: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class _RuntimeState:
    """State shared by the HTTP handler threads and the driver; one Condition guards it all."""

    def __init__(self, events: list, function_arn: str, timeout_seconds: float):
        self.cond = threading.Condition()
        self.invocations = [Invocation(None, event) for event in events]
        self.function_arn = function_arn
        self.timeout_ms = int(timeout_seconds * 1000)
        self.next_requests = 0
        self.first_next_at: float | None = None
        self.connections = 0
        self.init_error: dict | None = None
        self._next_index = 0
        self._in_flight: Invocation | None = None
        self._handed_out_at = 0.0
        self._sockets: set[socket.socket] = set()
        self._process_exited = False
        self._closed = False

    def connection_opened(self, sock: socket.socket) -> None:
        """Count it (one handler instance is one TCP connection) and keep it for close() to cut."""
        with self.cond:
            self.connections += 1
            self._sockets.add(sock)
            if self._closed:
                sock.shutdown(socket.SHUT_RDWR)

    def next_invocation(self) -> Invocation | None:
        """Block until the previous event completed and another is queued; None once closed.

        Lambda never gives a runtime two events at once, nor any after an init error, and
        /next has no timeout: an idle runtime just waits (real Lambda freezes it there).
        """
        with self.cond:
            self.next_requests += 1
            if self.first_next_at is None:
                self.first_next_at = time.monotonic()
            self.cond.notify_all()  # the driver may be waiting for init to finish
            while not self._closed and (self._in_flight or self.init_error is not None
                                        or self._next_index == len(self.invocations)):
                self.cond.wait()
            if self._closed:
                return None
            invocation = self.invocations[self._next_index]
            self._next_index += 1
            invocation.request_id = str(uuid.uuid4())
            self._in_flight = invocation
            self._handed_out_at = time.monotonic()
            return invocation

    def in_flight(self, request_id: str) -> bool:
        with self.cond:
            return self._in_flight is not None and self._in_flight.request_id == request_id

    def complete(self, request_id: str, status: str, response: Any = None, error: dict | None = None,
                 error_type_header: str | None = None, error_content_type: str | None = None) -> bool:
        """Record the outcome of the in-flight invocation; False if request_id is not it."""
        with self.cond:
            invocation = self._in_flight
            if invocation is None or invocation.request_id != request_id:
                return False
            invocation.status, invocation.response, invocation.error = status, response, error
            invocation.error_type_header = error_type_header
            invocation.error_content_type = error_content_type
            invocation.duration_ms = (time.monotonic() - self._handed_out_at) * 1000
            self._in_flight = None
            self.cond.notify_all()
            return True

    def record_init_error(self, error: dict) -> None:
        with self.cond:
            self.init_error = error
            self.cond.notify_all()

    def mark_process_exited(self) -> None:
        with self.cond:
            self._process_exited = True
            self.cond.notify_all()

    def wait_until_finished(self, deadline: float) -> bool:
        """Wait for the run to end; True when the monotonic deadline passed first.

        The run ends when the process exits, an init error is posted, or every event
        completed after the runtime asked for work at least once (so an empty event
        list still measures init).
        """
        with self.cond:
            while not (self._process_exited or self.init_error is not None or self._all_done()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return True
                self.cond.wait(remaining)
            return False

    def _all_done(self) -> bool:
        return (self.first_next_at is not None and self._in_flight is None
                and self._next_index == len(self.invocations))

    def close(self) -> None:
        """Release blocked /next handlers and idle keep-alive readers so the server can join them."""
        with self.cond:
            self._closed = True
            self.cond.notify_all()
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed by its handler
                pass


class _Handler(BaseHTTPRequestHandler):
    """Runtime API endpoints; HTTP/1.1 with Content-Length on every answer keeps one connection usable."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body would wait for the
    # client's delayed ACK (~40 ms) and that wait would show up in every measured duration.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.state.connection_opened(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging: the runtime's own output is what a test looks at."""

    def do_GET(self) -> None:
        if urlsplit(self.path).path != _NEXT_PATH:
            return self._send_json(404, {"errorMessage": "Unknown endpoint", "errorType": "NotFound"})
        state = self.server.state
        invocation = state.next_invocation()
        if invocation is None:  # shutting down: the process is gone or about to be
            self.close_connection = True
            return
        self._send(200, json.dumps(invocation.event).encode(), {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + state.timeout_ms),
            "Lambda-Runtime-Invoked-Function-Arn": state.function_arn,
            "Lambda-Runtime-Trace-Id": _trace_id(),
        })

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._read_body()
        if path == _INIT_ERROR_PATH:
            self.server.state.record_init_error(_error_body(body))
            return self._send_json(202, _ACCEPTED)
        match = _INVOCATION_PATH.match(path)
        if match is None:
            return self._send_json(404, {"errorMessage": "Unknown endpoint", "errorType": "NotFound"})
        self._send_json(*self._complete(match[1], match[2], body))

    def _complete(self, request_id: str, kind: str, body: bytes) -> tuple[int, dict]:
        """Apply a /response or /error post. An oversized response leaves the invocation open,
        as in Lambda, so the runtime can still report the failure through /error."""
        state = self.server.state
        if not state.in_flight(request_id):
            return 400, {"errorMessage": f"Invalid request ID: {request_id}", "errorType": "InvalidRequestID"}
        if kind == "response" and len(body) > MAX_RESPONSE_BYTES:
            return 413, _TOO_LARGE
        if kind == "response":
            state.complete(request_id, "success", response=_parse_json(body))
        else:
            state.complete(request_id, "error", error=_error_body(body),
                           error_type_header=self.headers.get("Lambda-Runtime-Function-Error-Type"),
                           error_content_type=self.headers.get("Content-Type"))
        return 202, _ACCEPTED

    def _read_body(self) -> bytes:
        """Read the whole body, even one we will reject, so the connection stays in sync.

        Chunked bodies are what streaming-capable runtimes send.
        """
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_exactly(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self._read_line().split(b";")[0], 16):
            chunks.append(self._read_exactly(size))
            self._read_line()
        while self._read_line() not in (b"\r\n", b"\n"):  # optional trailers
            pass
        return b"".join(chunks)

    def _read_exactly(self, size: int) -> bytes:
        """A body cut short means the runtime died mid-post: never record it as an answer."""
        data = self.rfile.read(size)
        if len(data) < size:
            raise ConnectionResetError("request body cut short")
        return data

    def _read_line(self) -> bytes:
        line = self.rfile.readline(65537)
        if not line:
            raise ConnectionResetError("connection closed inside a chunked body")
        return line

    def _send_json(self, code: int, payload: dict) -> None:
        self._send(code, json.dumps(payload, separators=(",", ":")).encode(), {})

    def _send(self, code: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    """Runtime API server on a free loopback port; it must never be reachable from outside."""

    def __init__(self, host: str, state: _RuntimeState):
        ip = _require_loopback(host)
        self.address_family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        self.state = state
        super().__init__((host, 0), _Handler)

    @property
    def runtime_api(self) -> str:
        host, port = self.server_address[:2]
        return f"[{host}]:{port}" if self.address_family == socket.AF_INET6 else f"{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connections cut by a dying runtime or by shutdown are expected; report anything else."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Process:
    """The bootstrap, in its own session so its whole tree can be signalled.

    A dedicated thread reaps it with wait4, which both tells the driver at once that it
    exited and yields the rusage that holds its peak RSS.
    """

    def __init__(self, bootstrap: str, env: dict[str, str], on_exit: Callable[[], None]):
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []
        self.rusage: Any = None
        self.high_water_kb: int | None = None
        self.signalled = False
        self.spawned_at = time.monotonic()
        self.proc = subprocess.Popen([bootstrap], cwd=os.path.dirname(bootstrap), env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self._pipes = [(_start_thread(_drain, self.proc.stdout, self.stdout_lines), self.proc.stdout),
                       (_start_thread(_drain, self.proc.stderr, self.stderr_lines), self.proc.stderr)]
        self._reaper = _start_thread(self._reap, on_exit)

    def _reap(self, on_exit: Callable[[], None]) -> None:
        _, status, self.rusage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen never waits on it again
        on_exit()

    def stop(self, grace: float) -> None:
        """Give it `grace` seconds to exit by itself, then SIGTERM, then SIGKILL; always reap."""
        self._reaper.join(grace)
        self.high_water_kb = _vm_high_water_kb(self.proc.pid) if self.proc.returncode is None else None
        for sig, wait in ((signal.SIGTERM, TERM_GRACE_SECONDS), (signal.SIGKILL, None)):
            if self.proc.returncode is not None:
                break
            self.signalled = True
            self._signal_group(sig)
            self._reaper.join(wait)
        self._signal_group(signal.SIGKILL)  # anything the bootstrap forked
        for reader, pipe in self._pipes:
            reader.join(TERM_GRACE_SECONDS)
            if not reader.is_alive():
                pipe.close()

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    @property
    def exit_code(self) -> int | None:
        return None if self.signalled else self.proc.returncode

    @property
    def peak_rss_kb(self) -> int | None:
        """The bootstrap's own peak RSS: VmHWM, read while it still runs. rusage's ru_maxrss is
        only the fallback for a process that exited by itself: it also counts the forked copy of
        this Python process that ran before exec, and so overstates a small binary several times."""
        if self.high_water_kb is not None:
            return self.high_water_kb
        if self.rusage is None:
            return None
        return self.rusage.ru_maxrss // 1024 if sys.platform == "darwin" else self.rusage.ru_maxrss


def _vm_high_water_kb(pid: int) -> int | None:
    """VmHWM of /proc/<pid>/status (Linux): the process's peak resident set since its exec."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def run_function(bootstrap: str, events: list, env: dict | None = None, function_name: str = "fn",
                 region: str = "us-east-1", timeout_seconds: float = 900, memory_mb: int = 128,
                 max_wall_seconds: float = 120, host: str = "127.0.0.1", layer: str | None = None) -> EmulatorResult:
    """Run `bootstrap` against a fresh Runtime API, feed it `events` in order, and report.

    `layer` is an unpacked layer (Lambda's /opt): its lib/ goes on the library path, as there.
    `env` is added on top of the Lambda environment and wins over it. The process is
    stopped (and reaped) once all events completed, it exited, it posted an init error,
    or `max_wall_seconds` passed; the server is shut down in every case.
    """
    bootstrap = os.path.abspath(bootstrap)
    arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
    state = _RuntimeState(list(events), arn, timeout_seconds)
    server = _Server(host, state)
    serving = _start_thread(server.serve_forever, 0.05)
    try:
        lambda_env = _lambda_env(bootstrap, server.runtime_api, function_name, region, memory_mb, layer)
        process = _Process(bootstrap, {**lambda_env, **(env or {})}, state.mark_process_exited)
        try:
            timed_out = state.wait_until_finished(process.spawned_at + max_wall_seconds)
        finally:
            process.stop(INIT_ERROR_EXIT_GRACE_SECONDS if state.init_error is not None else 0.0)
    finally:
        state.close()
        server.shutdown()
        server.server_close()
        serving.join()
    return _result(state, process, timed_out)


def _result(state: _RuntimeState, process: _Process, timed_out: bool) -> EmulatorResult:
    cold_start = state.first_next_at
    return EmulatorResult(
        invocations=state.invocations,
        init_error=state.init_error,
        exit_code=process.exit_code,
        stdout_lines=process.stdout_lines,
        stderr_lines=process.stderr_lines,
        cold_start_ms=None if cold_start is None else (cold_start - process.spawned_at) * 1000,
        first_invocation_ms=state.invocations[0].duration_ms if state.invocations else None,
        next_requests=state.next_requests,
        connections=state.connections,
        peak_rss_kb=process.peak_rss_kb,
        timed_out=timed_out,
        pid=process.proc.pid,
    )


def _lambda_env(bootstrap: str, runtime_api: str, function_name: str, region: str,
                memory_mb: int, layer: str | None) -> dict[str, str]:
    """A clean environment like provided.al2023's, so nothing from the host leaks in."""
    task_root = os.path.dirname(bootstrap)
    # provided.al2023's order: the system's directories come before the task's and the layers'.
    library_path = ["/lib64", "/usr/lib64", task_root, f"{task_root}/lib"]
    if layer is not None:
        library_path.append(os.path.join(os.path.abspath(layer), "lib"))
    return {
        "LD_LIBRARY_PATH": ":".join(library_path),
        "PATH": "/usr/local/bin:/usr/bin:/bin:/opt/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "LAMBDA_TASK_ROOT": task_root,
        "_HANDLER": "bootstrap",
    }


def _require_loopback(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The Runtime API has no authentication, so it must only ever listen on loopback."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"bind host must be a loopback IP address, got {host!r}") from None
    if not ip.is_loopback:
        raise ValueError(f"bind host must be a loopback IP address, got {host!r}")
    return ip


def _trace_id() -> str:
    """An X-Ray trace header in the exact shape Lambda sends, for runtimes that parse it."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=1"


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def _error_body(body: bytes) -> dict:
    parsed = _parse_json(body)
    return parsed if isinstance(parsed, dict) else {"raw": parsed}


def _drain(pipe: Any, lines: list[str]) -> None:
    """Read a pipe to EOF so the child never blocks on a full pipe buffer."""
    for raw in iter(pipe.readline, b""):
        lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))


def _start_thread(target: Callable[..., Any], *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def summarize(result: EmulatorResult) -> str:
    """A short human-readable report of a run."""
    lines = [f"cold start: {_ms(result.cold_start_ms)} | /next requests: {result.next_requests}"
             f" | connections: {result.connections} | peak RSS: {result.peak_rss_kb} KB"
             f" | exit code: {result.exit_code}"]
    for number, invocation in enumerate(result.invocations, 1):
        lines.append(f"#{number} {invocation.status:<7} {_ms(invocation.duration_ms):>10}  {_detail(invocation)}")
    if result.init_error is not None:
        lines.append(f"init error: {result.init_error.get('errorType')}: {result.init_error.get('errorMessage')}")
    if result.timed_out:
        lines.append("timed out: the wall-clock limit passed before the run finished")
    lines.append(f"stdout: {len(result.stdout_lines)} lines | stderr: {len(result.stderr_lines)} lines")
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def _detail(invocation: Invocation) -> str:
    if invocation.status == "error":
        error = invocation.error or {}
        return f"{error.get('errorType')}: {error.get('errorMessage')}"
    if invocation.status == "success":
        response = invocation.response
        text = response if isinstance(response, str) else json.dumps(response)
        return text if len(text) <= 100 else text[:97] + "..."
    return ""


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run a Lambda custom-runtime bootstrap against a local Runtime API.")
    parser.add_argument("--bootstrap", required=True, help="path to the bootstrap executable")
    parser.add_argument("--events", required=True, help="JSON file holding an array of events")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra environment")
    parser.add_argument("--function-name", default="fn")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--timeout-seconds", type=float, default=900)
    parser.add_argument("--memory-mb", type=int, default=128)
    parser.add_argument("--max-wall-seconds", type=float, default=120)
    parser.add_argument("--output", help="write the full result as JSON here")
    args = parser.parse_args(argv)
    if not (os.path.isfile(args.bootstrap) and os.access(args.bootstrap, os.X_OK)):
        parser.error(f"--bootstrap {args.bootstrap!r} is not an executable file")
    try:
        with open(args.events, encoding="utf-8") as handle:
            args.events = json.load(handle)
    except (OSError, ValueError) as exc:
        parser.error(f"--events: {exc}")
    if not isinstance(args.events, list):
        parser.error("--events must contain a JSON array of events")
    env = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not (key and sep):
            parser.error(f"--env expects KEY=VALUE, got {item!r}")
        env[key] = value
    args.env = env
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    result = run_function(args.bootstrap, args.events, env=args.env, function_name=args.function_name,
                          region=args.region, timeout_seconds=args.timeout_seconds, memory_mb=args.memory_mb,
                          max_wall_seconds=args.max_wall_seconds)
    print(summarize(result))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump(result.to_dict(), handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
