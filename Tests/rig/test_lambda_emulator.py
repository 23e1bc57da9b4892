"""Tests for scripts/rig/lambda_emulator.py, driven by small Python bootstraps.

Each bootstrap is a real executable speaking the Runtime API over one reused
http.client connection, so the emulator is exercised exactly as a Swift runtime
would exercise it, without needing the Swift build.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rig.lambda_emulator import MAX_RESPONSE_BYTES, run_function

REPO = Path(__file__).resolve().parents[2]
EMULATOR = REPO / "scripts" / "rig" / "lambda_emulator.py"


# The emulator gives the bootstrap a minimal PATH; this one finds the interpreter running the tests.
PYTHON_PATH = f"{os.path.dirname(sys.executable)}:/usr/bin:/bin"
ENV = {"PATH": PYTHON_PATH}
TRACE_ID = re.compile(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=1$")

CLIENT = '''#!/usr/bin/env python3
import http.client, json, os, signal, subprocess, sys, time

BASE = "/2018-06-01/runtime/"
conn = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])


def call(method, path, body=None, headers=None):
    conn.request(method, BASE + path, body=body, headers=headers or {})
    resp = conn.getresponse()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()


def post(path, payload, headers=None):
    return call("POST", path, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})


def respond(rid, payload):
    return post(f"invocation/{rid}/response", payload)


def serve(handle):
    while True:
        _, headers, body = call("GET", "invocation/next")
        handle(headers["lambda-runtime-aws-request-id"], headers, json.loads(body))

'''

ECHO = '''
ENV_KEYS = ["AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION", "AWS_DEFAULT_REGION", "LAMBDA_TASK_ROOT",
            "_HANDLER", "HOME", "LANG", "EXTRA", "SECRET_FROM_HOST", "LD_LIBRARY_PATH"]


def handle(rid, headers, event):
    respond(rid, {
        "event": event,
        "request_id": rid,
        "deadline_ms": int(headers["lambda-runtime-deadline-ms"]),
        "trace_id": headers["lambda-runtime-trace-id"],
        "arn": headers["lambda-runtime-invoked-function-arn"],
        "content_type": headers["content-type"],
        "env": {key: os.environ.get(key) for key in ENV_KEYS},
        "cwd": os.getcwd(),
    })
'''


@pytest.fixture
def bootstrap(tmp_path):
    """Write an executable bootstrap: the shared client, then `body`, then an optional main."""
    def make(body: str, main: str = "serve(handle)\n", name: str = "bootstrap") -> str:
        path = tmp_path / name
        path.write_text(CLIENT + body + "\n" + main)
        path.chmod(0o755)
        return str(path)
    return make


def statuses(result):
    return [invocation.status for invocation in result.invocations]


def process_gone(pid: int, within: float = 2.0) -> bool:
    """True once pid no longer exists; a zombie waiting for init counts as gone."""
    deadline = time.monotonic() + within
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def test_echo_answers_in_order_with_unique_request_ids(bootstrap):
    events = [{"n": n} for n in range(5)]
    result = run_function(bootstrap(ECHO), events, env=ENV)

    assert statuses(result) == ["success"] * 5
    assert [invocation.response["event"] for invocation in result.invocations] == events
    assert [invocation.event for invocation in result.invocations] == events
    request_ids = [invocation.request_id for invocation in result.invocations]
    assert len(set(request_ids)) == 5
    assert request_ids == [invocation.response["request_id"] for invocation in result.invocations]
    assert all(invocation.duration_ms > 0 for invocation in result.invocations)
    assert result.first_invocation_ms == result.invocations[0].duration_ms
    assert result.next_requests >= 5
    assert result.timed_out is False
    assert result.exit_code is None  # still waiting on /next when stopped
    assert result.init_error is None


def test_invocation_headers_and_lambda_environment(bootstrap, tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_FROM_HOST", "must-not-leak")
    before_ms = time.time() * 1000
    result = run_function(bootstrap(ECHO), [{}], env={**ENV, "EXTRA": "yes", "HOME": "/override"},
                          function_name="orders", region="eu-west-1", timeout_seconds=30, memory_mb=512)
    after_ms = time.time() * 1000

    response = result.invocations[0].response
    assert before_ms + 29_000 < response["deadline_ms"] <= after_ms + 30_000
    assert TRACE_ID.match(response["trace_id"])
    assert response["arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:orders"
    assert response["content_type"] == "application/json"
    assert response["cwd"] == str(tmp_path)
    env = response["env"]
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "orders"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["LAMBDA_TASK_ROOT"] == str(tmp_path)
    assert env["_HANDLER"] == "bootstrap"
    assert env["EXTRA"] == "yes" and env["HOME"] == "/override"  # env overrides the defaults
    assert env["SECRET_FROM_HOST"] is None
    assert env["LANG"]
    assert env["LD_LIBRARY_PATH"] == f"/lib64:/usr/lib64:{tmp_path}:{tmp_path}/lib"


def test_a_layers_libraries_come_after_the_systems_and_the_tasks(bootstrap, tmp_path):
    result = run_function(bootstrap(ECHO), [{}], env=ENV, layer=str(tmp_path / "opt"))
    assert result.invocations[0].response["env"]["LD_LIBRARY_PATH"] == \
        f"/lib64:/usr/lib64:{tmp_path}:{tmp_path}/lib:{tmp_path}/opt/lib"


def test_default_deadline_is_fifteen_minutes_ahead(bootstrap):
    before_ms = time.time() * 1000
    result = run_function(bootstrap(ECHO), [{}], env=ENV)
    assert result.invocations[0].response["deadline_ms"] > before_ms + 899_000


def test_reusing_client_uses_one_connection_and_measures_cold_start(bootstrap):
    result = run_function(bootstrap(ECHO), [{"n": 1}, {"n": 2}, {"n": 3}], env=ENV)
    assert result.connections == 1
    assert isinstance(result.cold_start_ms, float) and result.cold_start_ms > 0
    assert result.first_invocation_ms > 0
    assert result.peak_rss_kb > 1000


def test_emulator_adds_no_delayed_ack_latency(bootstrap):
    result = run_function(bootstrap(ECHO), [{"n": n} for n in range(7)], env=ENV)
    durations = sorted(invocation.duration_ms for invocation in result.invocations)
    assert durations[len(durations) // 2] < 20  # Nagle + delayed ACK would make each ~40 ms


def test_connections_counts_each_tcp_connection(bootstrap):
    body = '''
def handle(rid, headers, event):
    global conn
    respond(rid, event)
    conn = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
'''
    result = run_function(bootstrap(body), [{"n": 1}, {"n": 2}, {"n": 3}], env=ENV)
    assert statuses(result) == ["success"] * 3
    assert result.connections >= 3


def test_error_recorded_with_header_and_content_type(bootstrap):
    body = '''
def handle(rid, headers, event):
    if not event.get("fail"):
        return respond(rid, {"ok": True})
    post(f"invocation/{rid}/error",
         {"errorMessage": "boom", "errorType": "BoomError", "stackTrace": ["main.swift:1"]},
         {"Lambda-Runtime-Function-Error-Type": "Unhandled",
          "Content-Type": "application/vnd.aws.lambda.error+json"})
'''
    result = run_function(bootstrap(body), [{"fail": False}, {"fail": True}, {"fail": False}], env=ENV)

    assert statuses(result) == ["success", "error", "success"]
    failed = result.invocations[1]
    assert failed.error == {"errorMessage": "boom", "errorType": "BoomError", "stackTrace": ["main.swift:1"]}
    assert failed.error_type_header == "Unhandled"
    assert failed.error_content_type == "application/vnd.aws.lambda.error+json"
    assert failed.response is None
    assert result.invocations[0].error is None and result.invocations[0].error_type_header is None


def test_oversized_response_gets_413_and_runtime_reports_error(bootstrap):
    body = '''
def handle(rid, headers, event):
    size = event["size"]
    status, _, answer = call("POST", f"invocation/{rid}/response", b'"' + b"x" * (size - 2) + b'"')
    if status == 202:
        return
    answer = json.loads(answer)
    post(f"invocation/{rid}/error",
         {"errorMessage": f"{status} {answer['errorMessage']}", "errorType": answer["errorType"]},
         {"Lambda-Runtime-Function-Error-Type": "Runtime.ResponseTooLarge"})
'''
    events = [{"size": 7 * 1024 * 1024}, {"size": MAX_RESPONSE_BYTES}, {"size": MAX_RESPONSE_BYTES + 1}]
    result = run_function(bootstrap(body), events, env=ENV)

    assert statuses(result) == ["error", "success", "error"]
    too_large = result.invocations[0]
    assert too_large.error == {
        "errorMessage": "413 Exceeded maximum allowed payload size (6291456 bytes).",
        "errorType": "RequestEntityTooLarge",
    }
    assert too_large.error_type_header == "Runtime.ResponseTooLarge"
    assert len(result.invocations[1].response) == MAX_RESPONSE_BYTES - 2
    assert result.connections == 1  # the 413 left the keep-alive connection usable


def test_unknown_and_completed_request_ids_are_rejected(bootstrap):
    body = '''
previous = None


def handle(rid, headers, event):
    global previous
    status, _, answer = respond(previous or "not-a-request-id", {"sneaky": True})
    respond(rid, [status, json.loads(answer)["errorType"]])
    previous = rid
'''
    result = run_function(bootstrap(body), [{}, {}], env=ENV)
    unknown, completed = (invocation.response for invocation in result.invocations)
    assert unknown == completed == [400, "InvalidRequestID"]


def test_non_json_and_chunked_responses(bootstrap):
    body = '''
def handle(rid, headers, event):
    if event["chunked"]:
        conn.request("POST", BASE + f"invocation/{rid}/response", body=iter([b'{"parts":', b' [1, 2]}']),
                     encode_chunked=True)
        conn.getresponse().read()
    else:
        call("POST", f"invocation/{rid}/response", b"plain text")
'''
    result = run_function(bootstrap(body), [{"chunked": True}, {"chunked": False}], env=ENV)
    assert [invocation.response for invocation in result.invocations] == [{"parts": [1, 2]}, "plain text"]
    assert result.connections == 1


def test_init_error_is_captured_with_exit_code(bootstrap):
    body = '''
post("init/error", {"errorMessage": "missing TABLE_NAME", "errorType": "Runtime.ConfigError", "stackTrace": []},
     {"Lambda-Runtime-Function-Error-Type": "Runtime.ConfigError"})
print("init failed", file=sys.stderr)
sys.exit(1)
'''
    started = time.monotonic()
    result = run_function(bootstrap(body, main=""), [{"n": 1}, {"n": 2}], env=ENV)

    assert time.monotonic() - started < 5
    assert result.init_error == {"errorMessage": "missing TABLE_NAME", "errorType": "Runtime.ConfigError",
                                 "stackTrace": []}
    assert result.exit_code == 1
    assert statuses(result) == ["pending", "pending"]
    assert [invocation.request_id for invocation in result.invocations] == [None, None]
    assert result.next_requests == 0 and result.cold_start_ms is None
    assert result.stderr_lines == ["init failed"]
    assert result.timed_out is False


@pytest.mark.parametrize("crash, exit_code", [("os._exit(3)", 3), ("os.abort()", -signal.SIGABRT)])
def test_crash_stops_the_run_promptly_and_leaves_the_rest_pending(bootstrap, crash, exit_code):
    body = f'''
def handle(rid, headers, event):
    if event.get("crash"):
        print("fatal error: index out of range", file=sys.stderr, flush=True)
        {crash}
    print("handled", event["n"], flush=True)
    respond(rid, event)
'''
    started = time.monotonic()
    result = run_function(bootstrap(body), [{"n": 1}, {"crash": True}, {"n": 3}], env=ENV, max_wall_seconds=60)

    assert time.monotonic() - started < 5
    assert statuses(result) == ["success", "pending", "pending"]
    assert result.invocations[1].request_id is not None  # handed out, never answered
    assert result.invocations[2].request_id is None  # never handed out
    assert result.exit_code == exit_code
    assert result.timed_out is False
    assert result.stdout_lines == ["handled 1"]
    assert result.stderr_lines == ["fatal error: index out of range"]


def test_response_cut_short_by_a_dying_runtime_is_not_recorded(bootstrap):
    body = '''
def handle(rid, headers, event):
    conn.putrequest("POST", BASE + f"invocation/{rid}/response")
    conn.putheader("Content-Length", "100")
    conn.endheaders(b'{"partial": ')
    os._exit(4)
'''
    result = run_function(bootstrap(body), [{}], env=ENV)
    assert statuses(result) == ["pending"]
    assert result.invocations[0].response is None
    assert result.exit_code == 4


def test_no_event_is_handed_out_after_an_init_error(bootstrap):
    main = '''
post("init/error", {"errorMessage": "bad config", "errorType": "Runtime.ConfigError"})
serve(handle)
'''
    started = time.monotonic()
    result = run_function(bootstrap(ECHO, main=main), [{}], env=ENV)

    assert 2 <= time.monotonic() - started < 6  # the grace to exit by itself, then SIGTERM
    assert result.init_error["errorType"] == "Runtime.ConfigError"
    assert statuses(result) == ["pending"] and result.invocations[0].request_id is None
    assert result.exit_code is None


def test_wall_clock_limit_stops_a_stuck_function(bootstrap):
    body = '''
def handle(rid, headers, event):
    time.sleep(3600)
'''
    started = time.monotonic()
    result = run_function(bootstrap(body), [{"n": 1}, {"n": 2}], env=ENV, max_wall_seconds=1)

    assert 1 <= time.monotonic() - started < 4
    assert result.timed_out is True
    assert statuses(result) == ["pending", "pending"]
    assert result.exit_code is None
    assert process_gone(result.pid)


def test_sigterm_is_escalated_to_sigkill(bootstrap):
    main = 'signal.signal(signal.SIGTERM, signal.SIG_IGN)\nserve(handle)\n'
    started = time.monotonic()
    result = run_function(bootstrap(ECHO, main=main), [{}], env=ENV)

    assert 2 <= time.monotonic() - started < 6
    assert statuses(result) == ["success"]
    assert result.exit_code is None
    assert process_gone(result.pid)


def test_no_process_or_thread_left_behind(bootstrap):
    main = '''
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print("child", child.pid, flush=True)
serve(handle)
'''
    threads_before = set(threading.enumerate())
    result = run_function(bootstrap(ECHO, main=main), [{}], env=ENV)

    with pytest.raises(ProcessLookupError):
        os.kill(result.pid, 0)
    grandchild = int(result.stdout_lines[0].split()[1])
    assert process_gone(grandchild)
    assert set(threading.enumerate()) == threads_before


def test_no_events_still_measures_init(bootstrap):
    result = run_function(bootstrap(ECHO), [], env=ENV)
    assert result.invocations == []
    assert result.cold_start_ms > 0
    assert result.next_requests == 1
    assert result.first_invocation_ms is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com", "localhost"])
def test_non_loopback_bind_is_refused_before_spawning(bootstrap, tmp_path, host):
    marker = tmp_path / "spawned"
    path = bootstrap(f"open({str(marker)!r}, 'w').close()\n")
    with pytest.raises(ValueError, match="loopback"):
        run_function(path, [{}], env=ENV, host=host)
    assert not marker.exists()


def test_cli_prints_summary_and_writes_json(bootstrap, tmp_path):
    body = '''
def handle(rid, headers, event):
    if event.get("fail"):
        return post(f"invocation/{rid}/error", {"errorMessage": "bad input", "errorType": "ValidationError"})
    respond(rid, {"echo": event})
'''
    events = tmp_path / "events.json"
    events.write_text(json.dumps([{"n": 1}, {"fail": True}]))
    output = tmp_path / "result.json"
    completed = subprocess.run(
        [sys.executable, str(EMULATOR), "--bootstrap", bootstrap(body), "--events", str(events),
         "--env", f"PATH={PYTHON_PATH}", "--function-name", "cli-fn", "--timeout-seconds", "10",
         "--output", str(output)],
        capture_output=True, text=True, timeout=60)

    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("cold start: ") and "connections: 1" in lines[0]
    assert re.match(r'^#1 success +[\d.]+ ms  \{"echo": \{"n": 1\}\}$', lines[1])
    assert re.match(r"^#2 error +[\d.]+ ms  ValidationError: bad input$", lines[2])
    saved = json.loads(output.read_text())
    assert [invocation["status"] for invocation in saved["invocations"]] == ["success", "error"]
    assert saved["invocations"][1]["error"]["errorType"] == "ValidationError"
    assert saved["connections"] == 1


@pytest.mark.parametrize("problem", ["missing-events", "not-an-array", "bad-env", "no-bootstrap"])
def test_cli_usage_errors_exit_2(bootstrap, tmp_path, problem):
    events = tmp_path / "events.json"
    events.write_text('{"not": "an array"}' if problem == "not-an-array" else "[]")
    args = {
        "missing-events": ["--bootstrap", bootstrap(ECHO)],
        "not-an-array": ["--bootstrap", bootstrap(ECHO), "--events", str(events)],
        "bad-env": ["--bootstrap", bootstrap(ECHO), "--events", str(events), "--env", "NOEQUALS"],
        "no-bootstrap": ["--bootstrap", str(tmp_path / "missing"), "--events", str(events)],
    }[problem]
    completed = subprocess.run([sys.executable, str(EMULATOR), *args], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 2
    assert "usage:" in completed.stderr


def test_peak_rss_is_the_bootstraps_own_not_the_emulators(bootstrap):
    """A bootstrap that touches 60 MB shows it; a small one shows far less than this (larger)
    Python process, whose forked copy rusage would otherwise count."""
    hungry = bootstrap("def handle(rid, headers, event):\n"
                       "    ballast = bytearray(60 * 1024 * 1024)\n"
                       "    ballast[::4096] = b'x' * len(ballast[::4096])\n"
                       "    respond(rid, {'size': len(ballast)})\n", name="hungry")
    small = bootstrap("def handle(rid, headers, event):\n    respond(rid, {})\n", name="small")
    import resource
    hungry_kb = run_function(hungry, [{}], env=ENV).peak_rss_kb
    small_kb = run_function(small, [{}], env=ENV).peak_rss_kb
    assert hungry_kb >= 60 * 1024
    assert small_kb < hungry_kb - 50 * 1024
    assert small_kb < resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
