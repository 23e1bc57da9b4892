"""The rig's scale knobs for the benchmark, and its admin routes: a WSGI middleware in front of
moto's app (moto_launcher.py mounts it), off until configured."""
from __future__ import annotations

import io
import ipaddress
import json
import re
import threading
import time
from urllib.parse import parse_qs

from rig.moto_corrections import remember_form_body
from rig.moto_seeding import seed_organisation, set_user_status

# --- scale knobs: latency, rate limits, request counts, fast seeding (scripts/bench) ----------
# Added around moto, not into it: a WSGI middleware in front of moto's app, and admin routes under
# /_rig/ that answer loopback clients only. Everything is off until POST /_rig/config turns it on,
# so a rig nobody configures behaves as before (it only counts requests).
#
#   POST /_rig/config   {"latencyMs": 20, "ratePerSecond": 20, "services": ["sso", "identitystore"]}
#                       also "burst" (the token bucket's size; default one second's worth) and
#                       "shared" (true: the services share one bucket instead of one each)
#   GET  /_rig/config   DELETE /_rig/config (back to the defaults)
#   GET  /_rig/stats    requests, throttles, moto's busy time, first and last arrival per service
#                       and operation; DELETE resets them
#   POST /_rig/organisation  {"spec": <organisation.py spec>} or {"generate": {"users": 1000, ...}}
#                       builds the organisation in moto's backends in-process; answers the ids
#   POST /_rig/user-status   {"identityStoreId", "userId", "status": "ENABLED" | "DISABLED"}
#                       disables or re-enables a user, as an administrator can in the console
#
# A request's service is the one its SigV4 credential scope names (`sso` for SSO Admin,
# `identitystore`, `organizations`, `dynamodb`, ...); its operation the X-Amz-Target's, else the
# query's Action, else the HTTP method (S3).

RIG_ADMIN_PREFIX = "/_rig/"
RIG_DEFAULT_CONFIG = {"latencyMs": 0, "ratePerSecond": 0, "burst": None, "services": [], "shared": False}
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")
_JSON_11 = "application/x-amz-json-1.1"


class _TokenBucket:
    """`rate` tokens a second up to `capacity`; a request takes one or is throttled."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate, self.capacity, self.tokens, self.at = rate, capacity, capacity, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _request_service(environ: dict) -> str | None:
    match = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else None


def _form_body(environ: dict) -> bytes | None:
    """A form post's bytes, read and put back for moto to read again; None for any other request
    (or a body without a length, which is left alone)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if not length or not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _request_operation(environ: dict, form: bytes | None) -> str:
    """X-Amz-Target's operation, else the query protocol's Action (URL or form body), else the method."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    if not action and form:
        action = parse_qs(form.decode("utf-8", "replace")).get("Action")
    return action[0] if action else environ.get("REQUEST_METHOD", "?")


def _throttle_answer(environ: dict, service: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """How the service says "slow down": AWS JSON's ThrottlingException, S3's SlowDown, or the
    query protocol's Throttling."""
    import uuid

    request_id = str(uuid.uuid4())
    if service == "s3":
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce "
                f"your request rate.</Message><RequestId>{request_id}</RequestId></Error>").encode()
        return "503 Service Unavailable", [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)], body
    if environ.get("HTTP_X_AMZ_TARGET") or "json" in environ.get("CONTENT_TYPE", ""):
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        return "400 Bad Request", [("Content-Type", environ.get("CONTENT_TYPE") or _JSON_11),
                                   ("x-amzn-ErrorType", "ThrottlingException"), ("x-amzn-RequestId", request_id)], body
    body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    return "400 Bad Request", [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body


class RigKnobs:
    """The WSGI middleware: latency and rate limits for chosen services, counts for all, the
    /_rig/ admin routes, and seeded users' ExternalIds in identity store answers."""

    def __init__(self, app) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.seed_lock = threading.Lock()
        self.config = dict(RIG_DEFAULT_CONFIG)
        self.buckets: dict[str, _TokenBucket] = {}
        self.stats: dict = {}
        self.unsigned = 0
        self.since = time.monotonic()

    def __call__(self, environ: dict, start_response):
        if environ.get("PATH_INFO", "").startswith(RIG_ADMIN_PREFIX):
            return self.admin(environ, start_response)
        service = _request_service(environ)
        if service is None:
            with self.lock:
                self.unsigned += 1
            return self.app(environ, start_response)
        form = _form_body(environ)
        remember_form_body(form)
        operation = _request_operation(environ, form)
        arrived = time.monotonic()
        with self.lock:
            config = self.config
            knobs_on = service in config["services"]
            admitted = True
            if knobs_on and config["ratePerSecond"] > 0:
                key = "shared" if config["shared"] else service
                bucket = self.buckets.get(key)
                if bucket is None:
                    capacity = config["burst"] if config["burst"] is not None else max(1.0, config["ratePerSecond"])
                    bucket = self.buckets[key] = _TokenBucket(config["ratePerSecond"], capacity)
                admitted = bucket.take()
            counts = self.stats.setdefault(service, {"requests": 0, "throttled": 0, "busy": 0.0, "operations": {}})
            per_operation = counts["operations"].setdefault(
                operation, {"requests": 0, "throttled": 0, "busy": 0.0, "first": arrived, "last": arrived})
            per_operation["last"] = arrived
            for entry in (counts, per_operation):
                entry["requests"] += 1
                entry["throttled"] += not admitted
        if knobs_on and config["latencyMs"] > 0:
            time.sleep(config["latencyMs"] / 1000)
        if not admitted:
            status, headers, body = _throttle_answer(environ, service)
            start_response(status, headers + [("Content-Length", str(len(body)))])
            return [body]
        started = time.monotonic()
        try:
            return self.app(environ, start_response)
        finally:
            busy = time.monotonic() - started  # moto's own time on the request (its answer is built by now)
            with self.lock:
                counts["busy"] += busy
                per_operation["busy"] += busy

    # ---- admin

    def admin(self, environ: dict, start_response):
        def answer(status: str, payload) -> list[bytes]:
            body = json.dumps(payload).encode()
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]

        try:
            if not ipaddress.ip_address(environ.get("REMOTE_ADDR", "")).is_loopback:
                return answer("403 Forbidden", {"__type": "AccessDenied", "message": "loopback clients only"})
        except ValueError:
            return answer("403 Forbidden", {"__type": "AccessDenied", "message": "loopback clients only"})
        method, route = environ.get("REQUEST_METHOD"), environ["PATH_INFO"][len(RIG_ADMIN_PREFIX):].strip("/")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            data = json.loads(environ["wsgi.input"].read(length)) if length else {}
            if route == "config" and method == "GET":
                return answer("200 OK", self.config_view())
            if route == "config" and method == "POST":
                return answer("200 OK", self.set_config(data))
            if route == "config" and method == "DELETE":
                with self.lock:
                    self.config, self.buckets = dict(RIG_DEFAULT_CONFIG), {}
                return answer("200 OK", self.config_view())
            if route == "stats" and method == "GET":
                return answer("200 OK", self.stats_view())
            if route == "stats" and method == "DELETE":
                with self.lock:
                    self.stats, self.unsigned, self.since = {}, 0, time.monotonic()
                return answer("200 OK", self.stats_view())
            if route == "organisation" and method == "POST":
                with self.seed_lock:
                    return answer("200 OK", seed_organisation(data))
            if route == "user-status" and method == "POST":
                return answer("200 OK", set_user_status(data))
        except (ValueError, KeyError, TypeError) as error:
            return answer("400 Bad Request", {"__type": "ValidationException", "message": f"{type(error).__name__}: {error}"})
        return answer("404 Not Found", {"__type": "NotFound", "message": f"no rig route {method} /_rig/{route}"})

    def config_view(self) -> dict:
        with self.lock:
            return {**self.config, "services": list(self.config["services"])}

    def set_config(self, data: dict) -> dict:
        if not isinstance(data, dict) or not set(data) <= set(RIG_DEFAULT_CONFIG):
            raise ValueError(f"expected some of {sorted(RIG_DEFAULT_CONFIG)}")
        for name in ("latencyMs", "ratePerSecond"):
            if name in data and (isinstance(data[name], bool) or not isinstance(data[name], (int, float)) or data[name] < 0):
                raise ValueError(f"{name}: a number >= 0")
        if data.get("burst") is not None and (isinstance(data["burst"], bool) or not isinstance(data["burst"], (int, float))
                                               or data["burst"] < 1):
            raise ValueError("burst: a number >= 1, or null")
        if "services" in data and (not isinstance(data["services"], list) or not all(isinstance(s, str) for s in data["services"])):
            raise ValueError("services: a list of SigV4 service names (sso, identitystore, organizations, ...)")
        if "shared" in data and not isinstance(data["shared"], bool):
            raise ValueError("shared: true or false")
        with self.lock:
            self.config = {**self.config, **data}
            self.buckets = {}  # a new limit starts full
        return self.config_view()

    def stats_view(self) -> dict:
        """Per service and operation: requests (throttled ones included), throttled, busyMs (moto's
        time on them, the knobs' latency left out), and for each operation firstMs and lastMs, when
        the first and the last arrived, counted from the last reset."""
        def ms(seconds: float) -> float:
            return round(seconds * 1000, 1)

        with self.lock:
            services = {name: {"requests": s["requests"], "throttled": s["throttled"], "busyMs": ms(s["busy"]),
                               "operations": {op: {"requests": c["requests"], "throttled": c["throttled"],
                                                   "busyMs": ms(c["busy"]), "firstMs": ms(c["first"] - self.since),
                                                   "lastMs": ms(c["last"] - self.since)}
                                              for op, c in sorted(s["operations"].items())}}
                        for name, s in sorted(self.stats.items())}
            return {"services": services, "unsigned": self.unsigned,
                    "requests": sum(s["requests"] for s in services.values()),
                    "throttled": sum(s["throttled"] for s in services.values()),
                    "sinceResetMs": ms(time.monotonic() - self.since)}
