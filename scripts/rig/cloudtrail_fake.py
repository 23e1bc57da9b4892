#!/usr/bin/env python3
"""Local fake of AWS CloudTrail's LookupEvents and CloudTrail Lake query API.

moto has neither LookupEvents nor Lake queries, so the rig serves them here over the same
AWS JSON 1.1 protocol (`POST /`, `X-Amz-Target: CloudTrail_20131101.<Op>`), verifying every
SigV4 signature so the project's own signer is exercised. Lake SQL runs on DuckDB over a
table with CloudTrail Lake's column layout. Admin endpoints under `/_fake/` load events and
tune throttling and query latency. A key registered with an allow-list of actions (a function's
policy) is refused the others with AccessDeniedException; resources are not judged. Standard
library + duckdb; binds loopback only.

    python -m rig.cloudtrail_fake --host 127.0.0.1 --port 0 --port-file /tmp/ct.port
"""
from __future__ import annotations

import argparse
import base64
import bisect
import collections
import datetime as dt
import fnmatch
import hashlib
import hmac
import ipaddress
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

import duckdb

TARGET_PREFIXES = ("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.", "CloudTrail_20131101.")
JSON_11 = "application/x-amz-json-1.1"
RETENTION_SECONDS = 90 * 86400  # LookupEvents only sees the last 90 days
MAX_SKEW_SECONDS = 300
DEFAULT_STORE = "eds-rig-0000000001"
DEFAULT_CONFIG = {"lookupEventsRatePerSecond": 2, "throttleNextLookups": 0, "lakeQueryRunningPolls": 2,
                  "lakeQueryNeverFinishes": False, "latencyMs": 0}
STORE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,127}$")
LOOKUP_KEYS = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName",
               "EventSource", "AccessKeyId")
IDENTITY_FIELDS = ("type", "principalId", "arn", "accountId", "accessKeyId", "userName",
                   "onBehalfOf", "credentialId", "invokedBy")
MAP_COLUMNS = ("requestParameters", "responseElements", "additionalEventData", "serviceEventDetails")
SCALAR_COLUMNS = ("eventVersion", "eventCategory", "eventType", "eventID", "eventTime", "eventSource",
                  "eventName", "awsRegion", "sourceIPAddress", "userAgent", "errorCode", "errorMessage",
                  "requestID", "readOnly", "managementEvent", "recipientAccountId")
LAKE_DDL = (
    "CREATE TABLE events (" + ", ".join(
        f"{c} {'TIMESTAMP' if c == 'eventTime' else 'BOOLEAN' if c in ('readOnly', 'managementEvent') else 'VARCHAR'}"
        for c in SCALAR_COLUMNS)
    + ", userIdentity STRUCT(type VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR,"
      " accessKeyId VARCHAR, userName VARCHAR, onBehalfOf STRUCT(userId VARCHAR, identityStoreArn VARCHAR),"
      " credentialId VARCHAR, invokedBy VARCHAR), "
    + ", ".join(f"{c} MAP(VARCHAR, VARCHAR)" for c in MAP_COLUMNS) + ")")
# Trino spellings the project's Lake queries may use; element_at on a map returns the value in Trino.
TRINO_MACROS = ("CREATE MACRO element_at(m, k) AS m[k]",
                "CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMP)",
                "CREATE MACRO json_extract_scalar(j, p) AS json_extract_string(j, p)")
SQL_OPAQUE = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/)", re.S)
STORE_REF = re.compile(r"(?i)\b(FROM|JOIN)(\s+)(arn:[\w-]+:cloudtrail:[\w-]*:\d*:eventdatastore/)?"
                       r"([A-Za-z0-9][A-Za-z0-9-]*)(?![\w:/-])")
INVALID_SQL = (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException)


class ApiError(Exception):
    """An AWS JSON error: `{"__type": code, "message": ...}` with an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


# ---------------------------------------------------------------- SigV4

def verify_sigv4(method: str, raw_path: str, headers, body: bytes, keys: dict, now: float) -> str:
    """Check the request's SigV4 signature as AWS does and return the access key id."""
    auth = headers.get("Authorization")
    if not auth:
        raise ApiError("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
    fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(",") if "=" in p)
    if not auth.startswith("AWS4-HMAC-SHA256 ") or not {"Credential", "SignedHeaders", "Signature"} <= set(fields):
        raise ApiError("IncompleteSignatureException", f"Authorization header requires 'Credential', "
                       f"'Signature' and 'SignedHeaders' parameters. Authorization={auth}", 403)
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise ApiError("IncompleteSignatureException", f"Credential is malformed: {fields['Credential']}", 403)
    key_id, day, region, service = scope[:4]
    if service != "cloudtrail":
        raise ApiError("InvalidSignatureException",
                       "Credential should be scoped to correct service: 'cloudtrail'.", 403)
    if key_id not in keys:
        raise ApiError("UnrecognizedClientException", "The security token included in the request is invalid.", 403)
    amz_date = headers.get("X-Amz-Date", "")
    check_clock(amz_date, now)
    if not amz_date.startswith(day):
        raise ApiError("InvalidSignatureException", f"Date in Credential scope does not match YYYYMMDD from "
                       f"ISO-8601 version of date from HTTP: '{day}' != '{amz_date[:8]}'", 403)
    signed = fields["SignedHeaders"].split(";")
    canonical = canonical_request(method, raw_path, headers, signed, body)
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, "/".join(scope[1:]),
                                hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{keys[key_id]}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["Signature"]):
        raise ApiError("InvalidSignatureException", "The request signature we calculated does not match the "
                       "signature you provided. Check your AWS Secret Access Key and signing method. Consult the "
                       f"service documentation for details.\n\nThe Canonical String for this request should have "
                       f"been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n", 403)
    return key_id


def check_clock(amz_date: str, now: float) -> None:
    """Reject a missing X-Amz-Date or one more than five minutes away from the server's clock."""
    try:
        signed_at = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc).timestamp()
    except ValueError:
        raise ApiError("IncompleteSignatureException", "Authorization header requires existence of either a "
                       "'X-Amz-Date' or a 'Date' header.", 403) from None
    if abs(signed_at - now) > MAX_SKEW_SECONDS:
        late = signed_at < now
        edge, now_text = (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))
                          for t in (now - MAX_SKEW_SECONDS if late else now + MAX_SKEW_SECONDS, now))
        raise ApiError("InvalidSignatureException", f"Signature expired: {amz_date} is now earlier than {edge} "
                       f"({now_text} - 5 min.)" if late else f"Signature not yet current: {amz_date} is still "
                       f"later than {edge} ({now_text} + 5 min.)", 403)


def canonical_request(method: str, raw_path: str, headers, signed: list, body: bytes) -> str:
    """The SigV4 canonical request (non-S3 rules: the path as sent is URI-encoded once more)."""
    parts = urlsplit(raw_path)
    segments = [s for s in parts.path.split("/") if s not in ("", ".")]
    path = "/" + "/".join(segments) + ("/" if parts.path.endswith("/") and segments else "")
    pairs = sorted((quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~"))
                   for k, _, v in (p.partition("=") for p in parts.query.split("&") if p))
    lines = [f"{name}:{','.join(' '.join(v.split()) for v in headers.get_all(name) or [])}" for name in signed]
    return "\n".join([method, quote(path, safe="/~"), "&".join(f"{k}={v}" for k, v in pairs),
                      "\n".join(lines) + "\n", ";".join(signed), hashlib.sha256(body).hexdigest()])


# ---------------------------------------------------------------- records

def epoch(text: str) -> float:
    """CloudTrail's `eventTime` (ISO 8601 UTC) as epoch seconds."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.timezone.utc).timestamp()


def username(record: dict) -> str | None:
    """The Username LookupEvents reports: the identity's user name, else what CloudTrail derives."""
    ident = record.get("userIdentity") or {}
    if ident.get("userName"):
        return ident["userName"]
    if ident.get("type") == "AssumedRole" and ident.get("arn"):
        return ident["arn"].rsplit("/", 1)[-1]
    if ident.get("type") == "Root":
        return "root"
    return (record.get("additionalEventData") or {}).get("UserName") or None


def attribute(record: dict, key: str) -> list:
    """The values a LookupAttribute with this key matches against."""
    resources = record.get("resources") or []
    return {"EventId": [record.get("eventID")], "EventName": [record.get("eventName")],
            "ReadOnly": [str(record.get("readOnly")).lower()], "Username": [username(record)],
            "ResourceType": [r.get("type") for r in resources], "ResourceName": [r.get("ARN") for r in resources],
            "EventSource": [record.get("eventSource")],
            "AccessKeyId": [(record.get("userIdentity") or {}).get("accessKeyId")]}[key]


def lookup_event(record: dict) -> dict:
    """One `Event` of a LookupEvents response."""
    event = {"EventId": record.get("eventID"), "EventName": record.get("eventName"),
             "ReadOnly": None if record.get("readOnly") is None else str(record["readOnly"]).lower(),
             "AccessKeyId": (record.get("userIdentity") or {}).get("accessKeyId") or None,
             "EventTime": epoch(record["eventTime"]), "EventSource": record.get("eventSource"),
             "Username": username(record),
             "Resources": [{"ResourceType": r.get("type"), "ResourceName": r.get("ARN")}
                           for r in record.get("resources") or []],
             "CloudTrailEvent": json.dumps(record, separators=(",", ":"))}
    return {k: v for k, v in event.items() if v is not None}


def as_text(value) -> str | None:
    """A record value as Lake stores it in a string column or map: nested JSON as its JSON text."""
    return value if value is None or isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def lake_row(record: dict) -> list:
    """The record as one row of the Lake table, in LAKE_DDL's column order."""
    row = []
    for col in SCALAR_COLUMNS:
        value = record.get(col)
        if col == "eventTime":
            value = dt.datetime.fromtimestamp(epoch(value), dt.timezone.utc).replace(tzinfo=None)
        elif col in ("readOnly", "managementEvent"):
            value = None if value is None else str(value).lower() == "true"
        row.append(value if col in ("eventTime", "readOnly", "managementEvent") else as_text(value))
    ident = record.get("userIdentity") or {}
    obo = ident.get("onBehalfOf")
    row.append({f: ({"userId": obo.get("userId"), "identityStoreArn": obo.get("identityStoreArn")} if obo else None)
                if f == "onBehalfOf" else as_text(ident.get(f)) for f in IDENTITY_FIELDS})
    for col in MAP_COLUMNS:
        value = record.get(col)
        row.append([{"k": k, "v": as_text(v)} for k, v in value.items()] if isinstance(value, dict) else None)
    return row


def render(value) -> str:
    """A DuckDB value as Trino prints it, which is how Lake returns every result cell."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={'null' if v is None else render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join("null" if v is None else render(v) for v in value) + "]"
    return str(value)


# ---------------------------------------------------------------- Lake

class Lake:
    """DuckDB holding every stored record; each event data store is a view over it."""

    def __init__(self):
        self.con, self.lock, self.stores = duckdb.connect(), threading.Lock(), set()
        for sql in (LAKE_DDL, *TRINO_MACROS, "SET TimeZone = 'UTC'", "SET enable_external_access = false",
                    "SET lock_configuration = true"):
            self.con.execute(sql)

    def create_store(self, store_id: str) -> None:
        with self.lock:
            self.con.execute(f'CREATE OR REPLACE VIEW "{store_id}" AS SELECT * FROM events')
            self.stores.add(store_id)

    def insert(self, records: list) -> None:
        entries = "map_from_entries(?::STRUCT(k VARCHAR, v VARCHAR)[])"
        marks = ", ".join(["?"] * (len(SCALAR_COLUMNS) + 1) + [entries] * len(MAP_COLUMNS))
        rows = [lake_row(r) for r in records]
        with self.lock:
            if rows:
                self.con.executemany(f"INSERT INTO events VALUES ({marks})", rows)

    def clear(self) -> None:
        with self.lock:
            self.con.execute("DELETE FROM events")

    def bind_stores(self, sql: str) -> str:
        """Quote event data store ids (bare or ARN) after FROM/JOIN so DuckDB reads them as tables."""
        def table(m: re.Match) -> str:
            if m[4] in self.stores:
                return f'{m[1]}{m[2]}"{m[4]}"'
            if m[3] or "-" in m[4]:
                raise ApiError("EventDataStoreNotFoundException", f"The event data store {m[4]} was not found.")
            return m[0]
        parts = SQL_OPAQUE.split(sql)
        return "".join(p if i % 2 else STORE_REF.sub(table, p) for i, p in enumerate(parts))

    def run(self, sql: str) -> tuple[list, list]:
        """Columns and rows of one SELECT; errors a real Lake rejects at StartQuery raise ApiError."""
        bound = self.bind_stores(sql)
        with self.lock:
            try:
                statements = self.con.extract_statements(bound)
                if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
                    raise ApiError("InvalidQueryStatementException", "Only a single SELECT statement is allowed.")
                cursor = self.con.execute(bound)
            except duckdb.CatalogException as e:
                if "Table with name" in str(e):
                    raise ApiError("EventDataStoreNotFoundException", str(e)) from None
                raise ApiError("InvalidQueryStatementException", str(e)) from None
            except INVALID_SQL as e:
                raise ApiError("InvalidQueryStatementException", str(e)) from None
            return [d[0] for d in cursor.description], cursor.fetchall()


# ---------------------------------------------------------------- the fake

def encode_token(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, sort_keys=True).encode()).decode()


def decode_token(token, expect: dict) -> dict:
    """A NextToken this fake issued for the same request parameters, else InvalidNextTokenException."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if all(data.get(k) == v for k, v in expect.items()):
            return data
    except (ValueError, AttributeError, TypeError):
        pass
    raise ApiError("InvalidNextTokenException", "Invalid NextToken.")


def number(params: dict, name: str, default=None):
    """A JSON number parameter; the SDKs send timestamps as epoch seconds, never as strings."""
    value = params.get(name, default)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ApiError("SerializationException", f"{name} must be a JSON number, got {json.dumps(value)}.")
    return value


class EventLog:
    """The stored records as (epoch, sequence, record), newest first, and the same by event name:
    LookupEvents asks for one name at a time, and a page must not scan 90 days of a busy
    organisation's other events (the activity benchmark holds hundreds of thousands)."""

    def __init__(self):
        self.entries: list[tuple[float, int, dict]] = []
        self.by_name: dict[str, list[tuple[float, int, dict]]] = {}
        self.keys: dict[str | None, list[tuple[float, int]]] = {None: []}

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, records: list[dict]) -> None:
        stamped = [(epoch(r["eventTime"]), len(self.entries) + i, r) for i, r in enumerate(records)]
        self.entries = sorted(self.entries + stamped, key=lambda x: (x[0], x[1]), reverse=True)
        self.by_name = {}
        for entry in self.entries:
            self.by_name.setdefault(entry[2].get("eventName"), []).append(entry)
        # Ascending sort keys for bisect: (-epoch, -sequence) orders newest first.
        self.keys = {name: [(-t, -seq) for t, seq, _ in entries]
                     for name, entries in [(None, self.entries), *self.by_name.items()]}

    def newest_first(self, name: str | None, end: float | None, cursor: list | None):
        """Entries of `name` (every name when None) at or before `end` and strictly older than
        `cursor` ([epoch, sequence] of the last entry returned), newest first."""
        entries = self.entries if name is None else self.by_name.get(name, [])
        keys = self.keys.get(name, [])
        start = 0 if end is None else bisect.bisect_left(keys, (-end, -float("inf")))
        if cursor is not None:
            start = max(start, bisect.bisect_right(keys, (-cursor[0], -cursor[1])))
        return (entries[i] for i in range(start, len(entries)))

    def records(self) -> list[dict]:
        return [r for _, _, r in self.entries]


class Fake:
    """All state behind the HTTP surface: keys, events, config, counters and Lake queries."""

    def __init__(self, keys: dict, default_store: str):
        self.lock, self.lake = threading.RLock(), Lake()
        self.keys, self.config, self.records, self.queries = dict(keys), dict(DEFAULT_CONFIG), EventLog(), {}
        self.lake_pending: list[dict] = []  # records not yet in the Lake table: inserted at the next query
        self.allowed: dict[str, list[str]] = {}  # key id -> the actions its policy allows; absent: all
        self.recent_lookups = collections.deque()  # every key is the rig's one account: one limit
        self.reset_stats()
        self.lake.create_store(default_store)

    def reset_stats(self) -> None:
        with self.lock:
            self.stats = {"operations": collections.Counter(), "throttled": 0, "rejected": collections.Counter()}
            self.recent_lookups.clear()

    # ---- API
    def api(self, raw_path: str, headers, body: bytes) -> dict:
        time.sleep(self.config["latencyMs"] / 1000)
        try:
            key_id = verify_sigv4("POST", raw_path, headers, body, self.keys, time.time())
        except ApiError as e:
            with self.lock:
                self.stats["rejected"][e.code] += 1
            raise
        target = headers.get("X-Amz-Target", "")
        op = next((target[len(p):] for p in TARGET_PREFIXES if target.startswith(p)), "")
        handler = getattr(self, f"op_{op}", None) if op.isalpha() else None
        if handler is None:
            raise ApiError("UnknownOperationException", f"Unknown operation {target!r}.")
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise ApiError("SerializationException", "The request body is not valid JSON.") from None
        with self.lock:
            self.authorize(key_id, op)
            self.stats["operations"][op] += 1
            return handler(params if isinstance(params, dict) else {}, key_id)

    def authorize(self, key_id: str, op: str) -> None:
        """As IAM answers CloudTrail: an action no Allow of the key's policy names is refused."""
        patterns = self.allowed.get(key_id)
        action = f"cloudtrail:{op}"
        if patterns is None or any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns):
            return
        self.stats["rejected"]["AccessDeniedException"] += 1
        raise ApiError("AccessDeniedException", f"User: {key_id} is not authorized to perform: {action} because no "
                       f"identity-based policy allows the {action} action")

    def throttle(self) -> None:
        """Rate exceeded for more than lookupEventsRatePerSecond calls in any rolling second of the
        account (as AWS counts: per account and region, whichever key calls), and for the next
        throttleNextLookups calls (a count, so tests of the retry path do not depend on how fast a
        loaded machine sends)."""
        rate, now, window = self.config["lookupEventsRatePerSecond"], time.monotonic(), self.recent_lookups
        while window and now - window[0] >= 1.0:
            window.popleft()
        forced = self.config["throttleNextLookups"] > 0
        if forced or (rate and len(window) >= rate):
            self.config["throttleNextLookups"] -= forced
            self.stats["throttled"] += 1
            raise ApiError("ThrottlingException", "Rate exceeded")
        window.append(now)

    def op_LookupEvents(self, params: dict, key_id: str) -> dict:
        limit, start, end = number(params, "MaxResults", 50), number(params, "StartTime"), number(params, "EndTime")
        if not 1 <= limit <= 50:
            raise ApiError("InvalidMaxResultsException", "Value for MaxResults must be between 1 and 50.")
        if start is not None and end is not None and start > end:
            raise ApiError("InvalidTimeRangeException", "Start time must be before end time.")
        attrs = params.get("LookupAttributes") or []
        if len(attrs) > 1:
            raise ApiError("InvalidLookupAttributesException", "You can specify only one lookup attribute.")
        if attrs and (attrs[0].get("AttributeKey") not in LOOKUP_KEYS or not attrs[0].get("AttributeValue")):
            raise ApiError("InvalidLookupAttributesException", f"Invalid lookup attribute: {json.dumps(attrs[0])}.")
        fingerprint = hashlib.sha256(json.dumps([attrs, start, end], sort_keys=True).encode()).hexdigest()[:16]
        cursor = decode_token(params["NextToken"], {"f": fingerprint})["c"] if params.get("NextToken") else None
        self.throttle()
        floor = max(time.time() - RETENTION_SECONDS, start if start is not None else 0)
        by_name = attrs[0]["AttributeValue"] if attrs and attrs[0]["AttributeKey"] == "EventName" else None
        hits = []
        for t, seq, r in self.records.newest_first(by_name, end, cursor):
            if t < floor or len(hits) > limit:
                break
            if not attrs or attrs[0]["AttributeValue"] in attribute(r, attrs[0]["AttributeKey"]):
                hits.append((t, seq, r))
        result = {"Events": [lookup_event(r) for _, _, r in hits[:limit]]}
        if len(hits) > limit:
            result["NextToken"] = encode_token({"f": fingerprint, "c": list(hits[limit - 1][:2])})
        return result

    def op_StartQuery(self, params: dict, key_id: str) -> dict:
        sql = params.get("QueryStatement")
        if not isinstance(sql, str) or not sql.strip():
            raise ApiError("InvalidParameterException", "QueryStatement is required.")
        query = {"id": str(uuid.uuid4()), "sql": sql, "created": time.time(), "polls": 0, "pages": 0,
                 "runningPolls": self.config["lakeQueryRunningPolls"], "cancelled": False,
                 "neverFinishes": self.config["lakeQueryNeverFinishes"], "columns": [], "rows": [], "error": None}
        self.lake.insert(self.lake_pending)
        self.lake_pending = []
        began = time.perf_counter()
        try:
            query["columns"], query["rows"] = self.lake.run(sql)
        except duckdb.Error as e:  # fails at run time, as Lake reports it: status FAILED
            query["error"] = str(e)
        query["millis"] = int((time.perf_counter() - began) * 1000)
        query["scanned"] = (len(self.records), sum(len(json.dumps(r)) for r in self.records.records()))
        self.queries[query["id"]] = query
        return {"QueryId": query["id"]}

    def query(self, params: dict) -> dict:
        store = params.get("EventDataStore")
        if store and store.rsplit("/", 1)[-1] not in self.lake.stores:
            raise ApiError("EventDataStoreNotFoundException", f"The event data store {store} was not found.")
        if params.get("QueryId") not in self.queries:
            raise ApiError("QueryIdNotFoundException", f"Query {params.get('QueryId')} was not found.")
        return self.queries[params["QueryId"]]

    def poll(self, query: dict) -> str:
        """The status this poll sees: QUEUED, then RUNNING for the configured polls, then the outcome."""
        query["polls"] += 1
        if query["cancelled"]:
            return "CANCELLED"
        if query["neverFinishes"] or query["polls"] <= query["runningPolls"]:
            return "QUEUED" if query["polls"] == 1 else "RUNNING"
        return "FAILED" if query["error"] else "FINISHED"

    def op_DescribeQuery(self, params: dict, key_id: str) -> dict:
        query = self.query(params)
        status = self.poll(query)
        stats = {"EventsMatched": len(query["rows"]), "EventsScanned": query["scanned"][0],
                 "BytesScanned": query["scanned"][1], "ExecutionTimeInMillis": query["millis"]}
        if status not in ("FINISHED", "FAILED"):
            stats = dict.fromkeys(stats, 0)
        result = {"QueryId": query["id"], "QueryString": query["sql"], "QueryStatus": status,
                  "QueryStatistics": {**stats, "CreationTime": query["created"]}}
        return {**result, "ErrorMessage": query["error"]} if status == "FAILED" else result

    def op_GetQueryResults(self, params: dict, key_id: str) -> dict:
        query, limit = self.query(params), number(params, "MaxQueryResults", 1000)
        if not 1 <= limit <= 1000:
            raise ApiError("InvalidMaxResultsException", "Value for MaxQueryResults must be between 1 and 1000.")
        offset = decode_token(params["NextToken"], {"q": query["id"]})["o"] if params.get("NextToken") else 0
        status = self.poll(query)
        stats = {"ResultsCount": 0, "TotalResultsCount": 0, "BytesScanned": 0}
        if status != "FINISHED":
            extra = {"ErrorMessage": query["error"]} if status == "FAILED" else {}
            return {"QueryStatus": status, "QueryStatistics": stats, "QueryResultRows": [], **extra}
        page = query["rows"][offset:offset + limit]
        query["pages"] += 1
        result = {"QueryStatus": status, "QueryResultRows": [
            [{c.lower(): render(v)} for c, v in zip(query["columns"], row) if v is not None] for row in page],
            "QueryStatistics": {"ResultsCount": len(page), "TotalResultsCount": len(query["rows"]),
                                "BytesScanned": query["scanned"][1]}}
        if offset + limit < len(query["rows"]):
            result["NextToken"] = encode_token({"q": query["id"], "o": offset + limit})
        return result

    def op_CancelQuery(self, params: dict, key_id: str) -> dict:
        query = self.query(params)
        if not (query["neverFinishes"] or query["polls"] < query["runningPolls"]) or query["cancelled"]:
            raise ApiError("InactiveQueryException", f"Query {query['id']} is in a terminal state.")
        query["cancelled"] = True
        return {"QueryId": query["id"], "QueryStatus": "CANCELLED"}

    # ---- admin
    def admin(self, method: str, path: str, body: bytes) -> dict:
        data = json.loads(body) if body else None
        with self.lock:
            route = {("GET", "/_fake/health"): lambda: {"status": "ok"},
                     ("POST", "/_fake/keys"): lambda: self.add_keys(data),
                     ("POST", "/_fake/events"): lambda: self.add_events(data),
                     ("DELETE", "/_fake/events"): self.clear_events,
                     ("POST", "/_fake/config"): lambda: self.set_config(data),
                     ("POST", "/_fake/event-data-stores"): lambda: self.add_store(data),
                     ("GET", "/_fake/stats"): self.stats_view,
                     ("DELETE", "/_fake/stats"): lambda: self.reset_stats() or self.stats_view()}.get((method, path))
            if route is None:
                raise ApiError("NotFound", f"No admin route {method} {path}.", 404)
            return route()

    def add_keys(self, data) -> dict:
        """`{accessKeyId: secret}` (allowed every action) or `{accessKeyId: {"secret": ...,
        "allow": ["cloudtrail:LookupEvents", ...]}}` (allowed those actions; `*` patterns as IAM's)."""
        def valid(value) -> bool:
            return isinstance(value, str) or (
                isinstance(value, dict) and set(value) == {"secret", "allow"} and isinstance(value["secret"], str)
                and isinstance(value["allow"], list) and all(isinstance(a, str) for a in value["allow"]))
        if not isinstance(data, dict) or not all(valid(v) for v in data.values()):
            raise ApiError("ValidationException", 'Expected {accessKeyId: secret or {"secret": ..., "allow": [actions]}}.')
        for key_id, value in data.items():
            self.keys[key_id] = value if isinstance(value, str) else value["secret"]
            if isinstance(value, str):
                self.allowed.pop(key_id, None)
            else:
                self.allowed[key_id] = list(value["allow"])
        return {"keys": len(self.keys)}

    def add_events(self, data) -> dict:
        """Store CloudTrail records (a list, or a log file's {"Records": [...]}) for both APIs."""
        records = data.get("Records") if isinstance(data, dict) else data
        if not isinstance(records, list) or not all(isinstance(r, dict) and "eventTime" in r for r in records):
            raise ApiError("ValidationException", "Expected a list of CloudTrail records, each with eventTime.")
        records = [r if r.get("eventID") else {**r, "eventID": str(uuid.uuid4())} for r in records]
        try:
            self.records.add(records)
        except (TypeError, ValueError) as e:
            raise ApiError("ValidationException", f"Bad eventTime: {e}") from None
        # The Lake table takes milliseconds a row: filled when a query first needs it.
        self.lake_pending.extend(records)
        return {"stored": len(records), "total": len(self.records)}

    def clear_events(self) -> dict:
        self.records, self.lake_pending = EventLog(), []
        self.lake.clear()
        return {"total": 0}

    def set_config(self, data) -> dict:
        if not isinstance(data, dict) or any(type(v) is not type(DEFAULT_CONFIG.get(k)) or (type(v) is int and v < 0)
                                             for k, v in data.items()):
            raise ApiError("ValidationException", f"Expected some of {json.dumps(DEFAULT_CONFIG)} (same types).")
        self.config.update(data)
        return dict(self.config)

    def add_store(self, data) -> dict:
        store_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(store_id, str) or not STORE_ID.match(store_id):
            raise ApiError("ValidationException", "Expected {\"id\": \"<letters, digits, hyphens>\"}.")
        self.lake.create_store(store_id)
        return {"id": store_id, "stores": sorted(self.lake.stores)}

    def stats_view(self) -> dict:
        return {"operations": dict(self.stats["operations"]), "throttled": self.stats["throttled"],
                "rejected": dict(self.stats["rejected"]), "events": len(self.records),
                "queries": [{"queryId": q["id"], "sql": q["sql"], "polls": q["polls"], "resultPages": q["pages"],
                             "failed": q["error"] is not None} for q in self.queries.values()]}


# ---------------------------------------------------------------- HTTP

class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive front: `/` is the CloudTrail API, `/_fake/` the loopback-only admin."""

    protocol_version = "HTTP/1.1"
    server_version = "CloudTrailFake/1.0"

    def dispatch(self) -> None:
        method, body = self.command, self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path, request_id = urlsplit(self.path).path, str(uuid.uuid4())
        try:
            if path.startswith("/_fake/"):
                if not ipaddress.ip_address(self.client_address[0]).is_loopback:
                    raise ApiError("AccessDenied", "The admin API answers loopback clients only.", 403)
                self.reply(200, self.server.fake.admin(method, path, body), request_id, "application/json")
            elif method == "POST" and path == "/":
                self.reply(200, self.server.fake.api(self.path, self.headers, body), request_id)
            else:
                raise ApiError("UnknownOperationException", f"No route for {method} {path}.", 404)
        except ApiError as e:
            self.reply(e.status, {"__type": e.code, "message": e.message}, request_id)
        except ValueError as e:  # malformed admin JSON
            self.reply(400, {"__type": "SerializationException", "message": str(e)}, request_id)
        except Exception as e:  # a bug or an odd record: answer like AWS's 500 rather than drop the connection
            self.reply(500, {"__type": "InternalFailure", "message": f"{type(e).__name__}: {e}"}, request_id)

    def reply(self, status: int, payload: dict, request_id: str, content_type: str = JSON_11) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", request_id)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = dispatch

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)


def loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    if not loopback(args.host):
        print(f"cloudtrail_fake: refusing to bind non-loopback host {args.host!r}", file=sys.stderr)
        return 2
    keys = json.loads(os.environ.get("CLOUDTRAIL_FAKE_ACCESS_KEYS") or "{}")
    store = os.environ.get("CLOUDTRAIL_FAKE_EVENT_DATA_STORE") or DEFAULT_STORE
    if not STORE_ID.match(store):
        print(f"cloudtrail_fake: invalid event data store id {store!r}", file=sys.stderr)
        return 2
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    server = type("Server", (ThreadingHTTPServer,), {"address_family": family})((args.host, args.port), Handler)
    server.daemon_threads, server.verbose, server.fake = True, args.verbose, Fake(keys, store)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    if args.port_file:
        tmp = f"{args.port_file}.tmp"
        with open(tmp, "w") as f:
            f.write(str(server.server_address[1]))
        os.replace(tmp, args.port_file)
    stop.wait()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
