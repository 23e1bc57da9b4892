#!/usr/bin/env python3
"""Benchmark of the five functions on the local rig: cold starts against a boto3
reference, the monitors on a large registry, and the credential report at scale under Identity
Center's request rate. Run through `scripts/bench` (which sets up the environment).

    scripts/bench.py [--quick] [--output bench-output/bench.json]

Every figure is a median of repeated runs where it is repeated, and every comparison is a ratio of
two figures measured in the same run. Each rig (moto, patched, auth on, plus the CloudTrail fake)
is started in a temporary directory of its own and stopped before the benchmark ends, whatever
happens. The functions run as their built bootstraps under the Lambda Runtime API emulator,
signed with their own least-privilege policy (infra/policies), as the end-to-end tests run them.

What it measures:
1. cold start (process start to the first `next` request) of each bootstrap, the release binary
   (with the system's libcurl) and the zip's stripped one (with the runtime-libs layer on the
   library path, as Lambda runs it), and the first invocation's time and the process's peak RSS
   for one small invocation each against a small rig; binary and zip sizes;
2. the same cold start for a Python 3 handler that imports boto3 and creates its seven clients:
   the reference the Swift cold starts are a ratio of;
3. both monitors, as shipped (the zip's bootstrap with the layer), on a registry of 10,000 users
   (1,000 with --quick) with 90 days of sign-ins and password changes in the CloudTrail fake,
   LookupEvents limited to 2 requests a second;
4. the credential report, as shipped, at 1,000, 5,000 and 10,000 users (1,000 with --quick),
   groups, accounts and permission sets scaled alongside (organisation.py), with 20 ms a request
   and 20 requests a second on `sso` and `identitystore` (rig_knobs.py);
5. the activity ledger at daily-active volumes (bench_activity.py).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "rig"))

import cloudtrail_events  # noqa: E402
import lambda_emulator  # noqa: E402
import organisation  # noqa: E402
from bench_activity import activity_checks, activity_runs, activity_table  # noqa: E402
from bench_rig import (MONITORS, Rig, function_variables, invocation_summary, log,  # noqa: E402
                       lookup_pages, operation, policy_values, running_rig)
from cloudtrail_events import iso  # noqa: E402
from deploy import PRODUCTS, Packages, eventbridge  # noqa: E402

REFERENCE = "python-boto3-reference"
REFERENCE_CLIENTS = ["dynamodb", "identitystore", "sqs", "sso-admin", "cloudtrail", "s3", "organizations"]
LOOKUP_RATE = 2          # the CloudTrail fake's LookupEvents limit, a second (AWS's)
IDENTITY_CENTER_RATE = 20
IDENTITY_CENTER_LATENCY_MS = 20
LIMITED_SERVICES = ["sso", "identitystore"]
TARGETS = {
    "coldStartMs": 10.0,            # median, each function
    "coldStartSpeedup": 30.0,       # boto3 reference median / function median
    "registryPeakRssMb": 32.0,      # writer and cleaner
    "reportPeakRssMb10k": 128.0,    # the report at 10,000 users
    "reportBoundRatio": 1.3,        # report wall time / the rate-limit bound
    "reportWallSeconds10k": 900.0,  # 15 minutes: Lambda's limit
}
PYTHON_REFERENCE = '''#!{python}
"""A Lambda custom runtime in Python: imports boto3, creates its clients, serves the Runtime API."""
import json
import os
import urllib.request

import boto3

session = boto3.session.Session()
CLIENTS = {{name: session.client(name) for name in {clients!r}}}
API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation"
while True:
    with urllib.request.urlopen(API + "/next") as answer:
        request_id = answer.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(answer.read())
    body = json.dumps({{"clients": sorted(CLIENTS)}}).encode()
    urllib.request.urlopen(urllib.request.Request(API + "/" + request_id + "/response", data=body, method="POST")).read()
'''




# The floor of the measurement: a runtime in bash over /dev/tcp, which loads nothing and does
# nothing but the Runtime API calls. What a bootstrap takes beyond it is its own initialisation.
FLOOR = "bash-floor"
FLOOR_RUNTIME = r"""#!/bin/bash
host=${AWS_LAMBDA_RUNTIME_API%:*} port=${AWS_LAMBDA_RUNTIME_API##*:}
while true; do
    exec 3<>"/dev/tcp/$host/$port"
    printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n' "$AWS_LAMBDA_RUNTIME_API" >&3
    id= length=0
    while IFS= read -r line <&3; do
        line=${line%$'\r'}
        [[ -z $line ]] && break
        case ${line,,} in
            lambda-runtime-aws-request-id:*) id=${line#*: } ;;
            content-length:*) length=${line#*: } ;;
        esac
    done
    (( length > 0 )) && read -r -N "$length" _ <&3
    exec 3<&-
    exec 3<>"/dev/tcp/$host/$port"
    printf 'POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}' \
        "$id" "$AWS_LAMBDA_RUNTIME_API" >&3
    cat <&3 >/dev/null
    exec 3<&-
done
"""


def median(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# --- the machine ------------------------------------------------------------------------------


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    memory_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemTotal"))
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True,
                                    text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {"cpu": cpu, "cores": os.cpu_count(), "memoryGiB": round(memory_kb / 1024 / 1024, 1),
            "kernel": platform.release(), "python": platform.python_version(), "loadAverageAtStart": os.getloadavg(),
            "gitCommit": commit, "gitDirty": dirty}


# --- 1 and 2: sizes, cold starts --------------------------------------------------------------


def sizes(bin_dir: Path, zip_dir: Path) -> dict:
    found = {}
    for product in PRODUCTS:
        entry = {"releaseBinaryBytes": (bin_dir / product).stat().st_size}
        archive = zip_dir / f"{product}.zip"
        if archive.exists():
            with zipfile.ZipFile(archive) as opened:
                info = opened.getinfo("bootstrap")
                entry.update(strippedBootstrapBytes=info.file_size, zipBytes=archive.stat().st_size,
                             zipEntries=len(opened.namelist()))
        found[product] = entry
    layer = zip_dir / "runtime-libs-layer.zip"
    return {"products": found, "runtimeLibsLayerZipBytes": layer.stat().st_size if layer.exists() else None,
            "zipsFrom": str(zip_dir) if any("zipBytes" in e for e in found.values()) else None}


def python_reference(directory: Path) -> Path:
    path = directory / "python-reference" / "bootstrap"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PYTHON_REFERENCE.format(python=sys.executable, clients=REFERENCE_CLIENTS))
    path.chmod(0o755)
    return path


def floor_runtime(directory: Path) -> Path:
    path = directory / "floor" / "bootstrap"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FLOOR_RUNTIME)
    path.chmod(0o755)
    return path


LIBRARY_LOAD = r"""
import ctypes, json, os, sys, time
def libraries():
    return {line.split()[-1] for line in open("/proc/self/maps") if ".so" in line.split()[-1]}
before = libraries()
t0 = time.perf_counter(); ctypes.CDLL("libcrypto.so.3")
t1 = time.perf_counter(); curl = ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW | os.RTLD_LOCAL)
t2 = time.perf_counter(); curl.curl_global_init(3)
t3 = time.perf_counter()
print(json.dumps({"libcryptoMs": (t1 - t0) * 1000, "libcurlMs": (t2 - t1) * 1000, "curlGlobalInitMs": (t3 - t2) * 1000,
                  "librariesLoaded": len(libraries() - before)}))
"""


def library_loads(layer_libcurl: Path, repeats: int) -> dict:
    """What loading the bootstrap's two C libraries costs on this machine, as the bootstrap loads
    them (libcrypto linked, libcurl by dlopen with RTLD_NOW, then curl_global_init): the layer's
    libcurl and, for comparison, Debian's libcurl4; each in a fresh process, the median of `repeats`."""
    figures = {}
    for name, libcurl in (("layer", str(layer_libcurl)), ("debian", "libcurl.so.4")):
        runs = []
        for _ in range(repeats):
            answer = subprocess.run([sys.executable, "-c", LIBRARY_LOAD, libcurl], capture_output=True, text=True)
            if answer.returncode == 0:
                runs.append(json.loads(answer.stdout))
        if runs:
            figures[name] = {key: median([run[key] for run in runs]) for key in runs[0]}
    return figures


def cold_starts(directory: Path, bin_dir: Path, packages: Packages, repeats: int) -> dict:
    """Each product's bootstrap (release binary and the zip's), and the boto3 reference, run
    `repeats` times interleaved, one small invocation each against a small rig."""
    reference = python_reference(directory)
    runs: dict[str, dict[str, list[dict]]] = {product: {"release": [], "zip": []} for product in PRODUCTS}
    runs[REFERENCE] = {"python": []}
    runs[FLOOR] = {"bash": []}
    floor = floor_runtime(directory)
    with running_rig(directory, "small") as small:
        spec = organisation.generate(20, tag="small", seed=1)
        ids = small.seed(spec)
        resources = small.resources("small")
        as_of = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        small.put_registry(resources["registry_table"], organisation.registry_items(spec, ids, as_of))
        small.load_events(organisation.cloudtrail_records(spec, ids, as_of, account_id=small.state["accountId"]))
        values = policy_values(small.state, ids, resources)
        environments = {product: small.environment(small.function_user(product, values),
                                                   **function_variables(product, ids, resources))
                        for product in PRODUCTS}
        writer_user = ids["users"]["u00003"]
        dynamodb = small.client("dynamodb")

        def event_for(product: str) -> dict:
            if product == "registry-writer":
                return eventbridge(cloudtrail_events.create_user("identitystore", writer_user, "ignored", as_of,
                                                                 ids["identityStoreId"]))
            if product == "registry-cleaner":
                # A registry item of its own to remove, so that every run does the same work.
                gone = str(uuid.uuid4())
                dynamodb.put_item(TableName=resources["registry_table"], Item={
                    "UserId": {"S": gone}, "UserName": {"S": f"leaver-{gone[:8]}"},
                    "IdentityStoreId": {"S": ids["identityStoreId"]}, "Origin": {"S": "console"},
                    "UpdatedAt": {"S": iso(as_of)}})
                return eventbridge(cloudtrail_events.delete_user("identitystore", gone, as_of, ids["identityStoreId"]))
            return {}

        for repeat in range(repeats):
            log(f"cold starts: round {repeat + 1} of {repeats}")
            for product in PRODUCTS:
                release = lambda_emulator.run_function(str(bin_dir / product), [event_for(product)],
                                                       env=environments[product], function_name=product,
                                                       max_wall_seconds=120)
                shipped = packages.run(product, [event_for(product)], environments[product], max_wall_seconds=120)
                runs[product]["release"].append(invocation_summary(release))
                runs[product]["zip"].append(invocation_summary(shipped))
            result = lambda_emulator.run_function(str(reference), [{}], env=environments["registry-writer"],
                                                  function_name=REFERENCE, max_wall_seconds=120)
            runs[REFERENCE]["python"].append(invocation_summary(result))
            result = lambda_emulator.run_function(str(floor), [{}], env=environments["registry-writer"],
                                                  function_name=FLOOR, max_wall_seconds=30)
            runs[FLOOR]["bash"].append(invocation_summary(result))
    figures = {}
    for name, variants in runs.items():
        figures[name] = {}
        for variant, results in variants.items():
            if not results:
                continue
            figures[name][variant] = {
                "coldStartMs": median([r["coldStartMs"] for r in results]),
                "coldStartMsRuns": [r["coldStartMs"] for r in results],
                "firstInvocationMs": median([r["firstInvocationMs"] for r in results]),
                "peakRssKb": median([r["peakRssKb"] for r in results]),
                "failures": [r["error"] or r["status"] for r in results if r["status"] != "success"],
                "lastResponse": results[-1]["response"],
            }
    return figures


# --- 3 and 4: the monitors and the report at scale --------------------------------------------


def monitor_phases(moto: dict, wall_seconds: float) -> dict:
    """The monitor's steps, from when moto saw its requests (the monitor reads the registry, then
    CloudTrail, then writes evidence back, then sends alerts; one after the other)."""
    scan, update = operation(moto, "dynamodb", "Scan"), operation(moto, "dynamodb", "UpdateItem")
    send = operation(moto, "sqs", "SendMessageBatch")
    after_cloudtrail = (update or send or {}).get("firstMs")
    return {
        "registryReadSeconds": scan["lastMs"] / 1000 if scan else None,
        "cloudTrailSeconds": ((after_cloudtrail if after_cloudtrail is not None else wall_seconds * 1000)
                              - scan["lastMs"]) / 1000 if scan else None,
        "writeBackSeconds": (update["lastMs"] - update["firstMs"]) / 1000 if update else 0.0,
        "updateItems": update["requests"] if update else 0,
        "motoBusySeconds": sum(s["busyMs"] for s in moto["services"].values()) / 1000,
    }


def monitor_runs(one: Rig, packages: Packages, spec: dict, ids: dict, resources: dict, repeats: int,
                 restore_registry) -> dict:
    """Each monitor `repeats` times, every run on the registry as seeded (`restore_registry`
    undoes what the run before it wrote back) and an empty ledger, so that each reads CloudTrail's
    whole window: a first run; the medians, and each run's figures."""
    figures = {}
    for product in MONITORS:
        environment = one.environment(one.function_user(product, policy_values(one.state, ids, resources)),
                                      **function_variables(product, ids, resources))
        runs = []
        for repeat in range(repeats):
            if figures or runs:
                restore_registry()
                one.empty_ledger(resources["activity_table"])
            log(f"{product}: {len(spec['users'])} registry users, run {repeat + 1} of {repeats}")
            runs.append(monitor_run(one, packages, product, environment))
        figures[product] = median_of_runs(runs)
    return figures


def monitor_run(one: Rig, packages: Packages, product: str, environment: dict) -> dict:
    one.fake("DELETE", "stats")
    one.stats(reset=True)
    started = time.monotonic()
    result = packages.run(product, [{}], environment, max_wall_seconds=1500)
    wall = time.monotonic() - started
    fake, moto = one.fake("GET", "stats"), one.stats()
    run = invocation_summary(result)
    pages = lookup_pages(fake)
    bound = pages / LOOKUP_RATE
    figures = {
        **{k: run[k] for k in ("coldStartMs", "peakRssKb", "status", "error", "timedOut")},
        "wallSeconds": (run["firstInvocationMs"] or 0) / 1000, "processSeconds": wall, "summary": run["response"],
        "lookupEventsRequests": pages, "lookupEventsThrottled": fake.get("throttled"),
        "motoRequests": {name: s["operations"] for name, s in moto["services"].items()},
        "motoRequestsTotal": moto["requests"],
        "lookupBoundSeconds": bound,
        "wallBoundRatio": ((run["firstInvocationMs"] or 0) / 1000 / bound) if bound else None,
        "phases": monitor_phases(moto, (run["firstInvocationMs"] or 0) / 1000),
    }
    cloudtrail_step = figures["phases"]["cloudTrailSeconds"]
    figures["boundRatio"] = cloudtrail_step / bound if bound and cloudtrail_step is not None else None
    log(f"{product}: {figures['wallSeconds']:.1f} s, {pages} LookupEvents, {moto['requests']} moto requests,"
        f" status {run['status']}")
    return figures


# The figures that vary between runs of the same work; the counts (requests, rows) do not.
VARYING = ("coldStartMs", "peakRssKb", "wallSeconds", "processSeconds", "reportDurationMs", "boundRatio",
           "wallBoundRatio", "achievedRatePerSecond")


def median_of_runs(runs: list[dict]) -> dict:
    """The first run's figures with every varying one (and each step of `phases`) the median over
    `runs`, which are kept under `runs`; one failed run fails the whole."""
    merged = dict(runs[0])
    for key in VARYING:
        if key in merged:
            merged[key] = median([run.get(key) for run in runs])
    if "phases" in merged:
        merged["phases"] = {key: median([run["phases"][key] for run in runs]) for key in merged["phases"]}
    failed = next((run for run in runs if run["status"] != "success"), None)
    if failed:
        merged.update(status=failed["status"], error=failed["error"])
    merged["runs"] = [{key: run.get(key) for key in ("status",) + VARYING if key in run} for run in runs]
    return merged


def needed_requests(spec: dict, lookups: int) -> dict:
    """The fewest requests the report's chosen enumeration (by account and permission set) can
    make on this organisation, page sizes as the functions ask for them (100; ListAccounts 20)."""
    pairs: dict[tuple[str, str], int] = {}
    for a in spec["assignments"]:
        pairs[(a["account"], a["permissionSet"])] = pairs.get((a["account"], a["permissionSet"]), 0) + 1
    for p in spec["provisionedOnly"]:
        pairs.setdefault((p["account"], p["permissionSet"]), 0)
    accounts_of: dict[str, int] = {}
    for account, permission_set in pairs:
        accounts_of[permission_set] = accounts_of.get(permission_set, 0) + 1
    members = {g["key"]: len(g["members"]) for g in spec["groups"]}
    assigned_groups = {a["principal"] for a in spec["assignments"] if a["principalType"] == "GROUP"}

    def pages(count: int, size: int = 100) -> int:
        return max(1, math.ceil(count / size))

    sets = len(spec["permissionSets"])
    sso = {"ListPermissionSets": pages(sets), "DescribePermissionSet": sets,
           "ListAccountsForProvisionedPermissionSet": sum(pages(accounts_of.get(p["key"], 0)) for p in spec["permissionSets"]),
           "ListAccountAssignments": sum(pages(n) for n in pairs.values())}
    identitystore = {"ListUsers": pages(len(spec["users"])), "ListGroups": pages(len(spec["groups"])),
                     "ListGroupMemberships": sum(pages(members[g]) for g in assigned_groups)}
    return {"sso": sso, "identitystore": identitystore,
            "organizations": {"ListAccounts": pages(len(spec["accounts"]) + 1, 20)},
            "cloudtrail": {"LookupEvents": lookups}, "s3": {"PutObject": 2},
            "total": sum(sso.values()) + sum(identitystore.values()) + pages(len(spec["accounts"]) + 1, 20) + lookups + 2}


def report_run(one: Rig, packages: Packages, spec: dict, ids: dict, resources: dict, shared: bool) -> dict:
    values = policy_values(one.state, ids, resources)
    environment = one.environment(one.function_user("credential-report", values),
                                  **function_variables("credential-report", ids, resources))
    counts = organisation.summary(spec)
    one.empty_ledger(resources["activity_table"])  # every run reads its whole lookback of role sign-ins: a first run
    one.fake("DELETE", "stats")
    one.stats(reset=True)
    config = one.knobs(latencyMs=IDENTITY_CENTER_LATENCY_MS, ratePerSecond=IDENTITY_CENTER_RATE,
                       services=LIMITED_SERVICES, shared=shared)
    log(f"credential-report: {counts['users']} users, {counts['groups']} groups, {counts['accounts']} accounts, "
        f"{counts['permissionSets']} permission sets, {counts['provisionedPairs']} provisioned pairs "
        f"({'one shared' if shared else 'a'} {IDENTITY_CENTER_RATE}/s bucket{'' if shared else ' each'} on "
        f"{', '.join(LIMITED_SERVICES)}, {IDENTITY_CENTER_LATENCY_MS} ms a request)")
    try:
        started = time.monotonic()
        result = packages.run("credential-report", [{}], environment, max_wall_seconds=1500)
        process_seconds = time.monotonic() - started
    finally:
        one.knobs()  # off again
    fake, moto = one.fake("GET", "stats"), one.stats()
    run = invocation_summary(result)
    answer = run["response"] if isinstance(run["response"], dict) else {}
    wall = (run["firstInvocationMs"] or 0) / 1000
    services = moto["services"]
    served = {name: services.get(name, {}).get("requests", 0) - services.get(name, {}).get("throttled", 0)
              for name in LIMITED_SERVICES}
    throttled = {name: services.get(name, {}).get("throttled", 0) for name in LIMITED_SERVICES}
    lookups = lookup_pages(fake)
    # The rate-limit bound: only the rate-limited requests count (sso and identitystore at
    # IDENTITY_CENTER_RATE, LookupEvents at LOOKUP_RATE); latency and the other services are free.
    per_service = max([n / IDENTITY_CENTER_RATE for n in served.values()] + [lookups / LOOKUP_RATE])
    one_bucket = max(sum(served.values()) / IDENTITY_CENTER_RATE, lookups / LOOKUP_RATE)
    bound = one_bucket if shared else per_service
    rig_total = moto["requests"] + sum(fake.get("operations", {}).values())
    figures = {
        **{k: run[k] for k in ("coldStartMs", "peakRssKb", "status", "error", "timedOut")},
        "users": counts["users"], "groups": counts["groups"], "accounts": counts["accounts"],
        "permissionSets": counts["permissionSets"], "memberships": counts["memberships"],
        "assignments": counts["assignments"], "provisionedPairs": counts["provisionedPairs"],
        "expectedRows": counts["reportRows"], "rows": answer.get("rows"), "enumeration": answer.get("enumeration"),
        "apiCalls": answer.get("apiCalls"), "reportDurationMs": answer.get("durationMs"),
        "wallSeconds": wall, "processSeconds": process_seconds,
        "rigRequests": {name: s["operations"] for name, s in services.items()},
        "rigRequestsTotal": rig_total, "lookupEventsRequests": lookups,
        "rateLimitedServed": served, "throttled": throttled, "lookupEventsThrottled": fake.get("throttled"),
        "bucket": "shared" if shared else "per-service", "knobs": config,
        "boundSeconds": bound, "boundRatio": wall / bound if bound else None,
        "boundSecondsPerService": per_service, "boundSecondsOneBucket": one_bucket,
        "achievedRatePerSecond": sum(served.values()) / wall if wall else None,
        "neededRequests": needed_requests(spec, lookups),
    }
    log(f"credential-report: {run['status']} in {wall:.1f} s, {answer.get('apiCalls')} API calls "
        f"({rig_total} at the rig), enumeration {answer.get('enumeration')}, bound {bound:.1f} s")
    return figures


def scale_runs(directory: Path, packages: Packages, sizes_to_run: list[int], monitor_users: int | None,
               shared_check: bool, repeats: int) -> dict:
    """Each organisation size on a rig of its own; every run `repeats` times, as medians."""
    report, monitors, extra = {}, None, {}
    for users in sizes_to_run:
        with running_rig(directory, f"org{users}") as one:
            spec = organisation.generate(users, tag=f"b{users}", seed=7)
            started = time.monotonic()
            ids = one.seed(spec)
            seed_seconds = time.monotonic() - started
            resources = one.resources(f"b{users}")
            as_of = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
            with_monitors = users == monitor_users
            records = organisation.cloudtrail_records(
                spec, ids, as_of, account_id=one.state["accountId"],
                sign_ins_per_user=1.0 if with_monitors else 0.0,
                password_change_share=0.3 if with_monitors else 0.0)
            load_seconds = one.load_events(records)
            kinds: dict[str, int] = {}
            for record in records:
                kinds[record["eventName"]] = kinds.get(record["eventName"], 0) + 1
            log(f"org of {users}: seeded in {seed_seconds:.1f} s, {len(records)} CloudTrail records loaded in "
                f"{load_seconds:.1f} s")
            setup = {"seedSeconds": seed_seconds, "cloudTrailRecords": kinds, "cloudTrailLoadSeconds": load_seconds}
            if with_monitors:
                items = organisation.registry_items(spec, ids, as_of)
                setup["registryWriteSeconds"] = one.put_registry(resources["registry_table"], items)
                runs = monitor_runs(one, packages, spec, ids, resources, repeats,
                                    restore_registry=lambda: one.put_registry(resources["registry_table"], items))
                monitors = {"users": users, "setup": setup, "runs": runs}
            report[str(users)] = {**median_of_runs([report_run(one, packages, spec, ids, resources, shared=False)
                                                    for _ in range(repeats)]), "setup": setup}
            if shared_check and users == min(sizes_to_run):
                extra[str(users)] = median_of_runs([report_run(one, packages, spec, ids, resources, shared=True)
                                                    for _ in range(repeats)])
    return {"report": report, "monitors": monitors, "reportOneSharedBucket": extra}


# --- targets and the table --------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def evaluate(results: dict) -> list[dict]:
    checks = []
    if "coldStarts" in results:
        checks += cold_start_checks(results["coldStarts"])
    if "scale" in results:
        checks += scale_checks(results["scale"])
    if "activity" in results:
        checks += activity_checks(results["activity"])
    return checks


def cold_start_checks(cold: dict) -> list[dict]:
    checks = []
    reference = cold[REFERENCE]["python"]["coldStartMs"]
    for product in PRODUCTS:
        figures = cold[product]
        shipped = figures.get("zip") or figures["release"]
        variant = "zip" if "zip" in figures else "release"
        checks.append({"target": f"{product} cold start <= {TARGETS['coldStartMs']:.0f} ms (median, {variant} bootstrap)",
                       "value": shipped["coldStartMs"], "pass": shipped["coldStartMs"] <= TARGETS["coldStartMs"]})
        speedup = reference / shipped["coldStartMs"]
        checks.append({"target": f"{product} cold start >= {TARGETS['coldStartSpeedup']:.0f}x faster than boto3",
                       "value": speedup, "pass": speedup >= TARGETS["coldStartSpeedup"]})
    for product in ("registry-writer", "registry-cleaner"):
        for variant, figures in cold[product].items():
            value = mb(figures["peakRssKb"])
            checks.append({"target": f"{product} peak RSS <= {TARGETS['registryPeakRssMb']:.0f} MB ({variant})",
                           "value": value, "pass": None if value is None else value <= TARGETS["registryPeakRssMb"]})
    return checks


def scale_checks(scale: dict) -> list[dict]:
    checks = []
    for users, run in scale["report"].items():
        finished = run["status"] == "success"
        checks.append({"target": f"report at {users} users finishes", "value": run["status"], "pass": finished})
        checks.append({"target": f"report at {users} users wall <= {TARGETS['reportBoundRatio']}x the rate-limit bound",
                       "value": run["boundRatio"],
                       "pass": finished and run["boundRatio"] is not None and run["boundRatio"] <= TARGETS["reportBoundRatio"]})
    ten = scale["report"].get("10000")
    checks.append({"target": f"report at 10000 users peak RSS <= {TARGETS['reportPeakRssMb10k']:.0f} MB",
                   "value": mb(ten["peakRssKb"]) if ten else None,
                   "pass": None if ten is None or ten["peakRssKb"] is None else mb(ten["peakRssKb"]) <= TARGETS["reportPeakRssMb10k"]})
    checks.append({"target": "report at 10000 users within 15 minutes",
                   "value": ten["wallSeconds"] if ten else None,
                   "pass": None if ten is None else ten["status"] == "success" and ten["wallSeconds"] <= TARGETS["reportWallSeconds10k"]})
    return checks


def mb(kb) -> float | None:
    return None if kb is None else kb / 1024


def fmt(value, spec: str = ".1f", unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, (int, float)):
        return f"{value:{spec}}{unit}"
    return str(value)


def table(results: dict) -> str:
    lines = []
    m = results["machine"]
    lines += [f"Machine: {m['cpu']}, {m['cores']} cores, {m['memoryGiB']} GiB; load at start {m['loadAverageAtStart'][0]:.2f}",
              f"Command: {results['command']}   ({'quick' if results['quick'] else 'full'}, "
              f"{results['repeats']} cold-start rounds, scale runs the median of {results.get('scaleRepeats', 1)}, "
              f"{results['elapsedSeconds']:.0f} s in all)"]
    if "coldStarts" in results:
        lines += [""] + cold_start_table(results)
    if "scale" in results:
        lines += scale_table(results["scale"])
    if "activity" in results:
        lines += activity_table(results["activity"], fmt, mb)
    lines += ["", "Targets"]
    for check in results["checks"]:
        value = check["value"]
        shown = fmt(value, ".2f") if isinstance(value, float) else fmt(value)
        lines.append(f"  {verdict(check['pass']):<5} {check['target']:<78} {shown}")
    return "\n".join(lines)


def cold_start_table(results: dict) -> list[str]:
    lines = []
    sz = results["sizes"]
    lines.append("Sizes                       release binary  stripped bootstrap   zip")
    for product in PRODUCTS:
        e = sz["products"][product]
        lines.append(f"  {product:<26}{fmt(e['releaseBinaryBytes'] / 1e6, '.1f', ' MB'):>14}"
                     f"{fmt(e.get('strippedBootstrapBytes', 0) / 1e6 or None, '.1f', ' MB'):>20}"
                     f"{fmt(e.get('zipBytes', 0) / 1e6 or None, '.1f', ' MB'):>10}")
    if sz.get("runtimeLibsLayerZipBytes"):
        lines.append(f"  runtime-libs-layer.zip {sz['runtimeLibsLayerZipBytes'] / 1e6:.1f} MB")
    cold = results["coldStarts"]
    reference = cold[REFERENCE]["python"]
    lines += ["", f"Cold start (median of {results['repeats']}; process start to first `next`), one small invocation each",
              "  function                    cold rel.  cold zip   1st invoc.  peak RSS   vs boto3  beyond floor"]
    floor_ms = cold[FLOOR]["bash"]["coldStartMs"]
    for product in PRODUCTS:
        f = cold[product]
        shipped = f.get("zip") or f["release"]
        fails = f["release"]["failures"] + (f.get("zip", {}).get("failures") or [])
        lines.append(f"  {product:<26}{fmt(f['release']['coldStartMs'], '.1f', ' ms'):>10}"
                     f"{fmt(f.get('zip', {}).get('coldStartMs'), '.1f', ' ms'):>10}"
                     f"{fmt(shipped['firstInvocationMs'], '.0f', ' ms'):>12}{fmt(mb(shipped['peakRssKb']), '.1f', ' MB'):>10}"
                     f"{fmt(reference['coldStartMs'] / shipped['coldStartMs'], '.0f', 'x'):>10}"
                     f"{fmt(shipped['coldStartMs'] - floor_ms if floor_ms else None, '.1f', ' ms'):>14}"
                     + (f"   FAILED: {str(fails[0])[:60]}" if fails else ""))
    lines.append(f"  {'python3 + boto3, 7 clients':<26}{fmt(reference['coldStartMs'], '.1f', ' ms'):>10}{'':>10}"
                 f"{fmt(reference['firstInvocationMs'], '.0f', ' ms'):>12}{fmt(mb(reference['peakRssKb']), '.1f', ' MB'):>10}")
    floor = cold[FLOOR]["bash"]
    lines.append(f"  {'bash runtime (floor)':<26}{fmt(floor['coldStartMs'], '.1f', ' ms'):>10}{'':>10}"
                 f"{fmt(floor['firstInvocationMs'], '.0f', ' ms'):>12}{fmt(mb(floor['peakRssKb']), '.1f', ' MB'):>10}"
                 "   (spawn + exec + connect: what any runtime pays here)")
    loads = results.get("libraryLoads") or {}
    for name, label in (("layer", "the layer's libcurl-https.so.4"), ("debian", "Debian's libcurl.so.4")):
        if name in loads:
            load = loads[name]
            lines.append(f"  loading the C libraries here with {label} (fresh process, median): libcrypto "
                         f"{load['libcryptoMs']:.1f} ms, dlopen {load['libcurlMs']:.1f} ms ({load['librariesLoaded']:.0f} "
                         f"libraries with libcrypto's), curl_global_init {load['curlGlobalInitMs']:.1f} ms")
    lines.append("  peak RSS: each bootstrap's own high-water mark (VmHWM, as the emulator reports it)")
    return lines


def scale_table(scale: dict) -> list[str]:
    lines = []
    monitors = scale["monitors"]
    if monitors:
        kinds = monitors["setup"]["cloudTrailRecords"]
        lines += ["", f"Monitors on {monitors['users']} registry users, 90 days of CloudTrail "
                      f"({sum(kinds.values())} records: {', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}); "
                      f"LookupEvents limited to {LOOKUP_RATE}/s",
                  "  steps from the times moto saw the monitor's requests: registry Scan, then CloudTrail, then UpdateItem"
                  " write-back (moto's DynamoDB speed, one Python process), then SQS; ratio = CloudTrail step / bound",
                  "  function                    wall    LookupEvents  bound (pages/2)  CloudTrail step  ratio  write-back step"
                  "             moto req.  peak RSS  result"]
        for product, r in monitors["runs"].items():
            ph = r["phases"]
            summary = r["summary"] if isinstance(r["summary"], dict) else {}
            outcome = (f"{summary.get('usersChecked')} checked, {summary.get('expired')} expired, {summary.get('warning')} warning, "
                       f"{summary.get('evidenceRecorded')} recorded, {summary.get('messagesSent')} messages"
                       if r["status"] == "success" else f"FAILED {str(r['error'])[:60]}")
            lines.append(f"  {product:<26}{fmt(r['wallSeconds'], '.1f', ' s'):>8}{r['lookupEventsRequests']:>12}"
                         f"{fmt(r['lookupBoundSeconds'], '.1f', ' s'):>16}{fmt(ph['cloudTrailSeconds'], '.1f', ' s'):>17}"
                         f"{fmt(r['boundRatio'], '.2f'):>7}"
                         f"{fmt(ph['writeBackSeconds'], '.1f', ' s'):>11} ({ph['updateItems']} UpdateItem)"
                         f"{r['motoRequestsTotal']:>10}{fmt(mb(r['peakRssKb']), '.1f', ' MB'):>10}  {outcome}")
    lines += ["", f"Credential report, {IDENTITY_CENTER_LATENCY_MS} ms a request and {IDENTITY_CENTER_RATE} requests/s "
                  f"on {' and '.join(LIMITED_SERVICES)} (a bucket each); LookupEvents {LOOKUP_RATE}/s",
              "  bound = the rate-limited requests served / their rate, the largest of sso, identitystore (20/s each) and"
              " LookupEvents (2/s); latency and the unlimited services (organizations, s3) not counted.",
              "  ratio = wall / bound. 1-bucket ratio = wall / the bound if sso and identitystore shared one 20/s bucket"
              " ((sso + idstore) / 20). needed = the fewest requests the chosen enumeration can make on this organisation.",
              "  users  groups accts  PS  pairs  rows    enumeration                      apiCalls rig req  needed"
              "  sso  idstore  lookups  wall      bound    ratio  1-bucket ratio  achieved/s  peak RSS"]
    runs = list(scale["report"].items()) + [(f"{u}*", r) for u, r in scale.get("reportOneSharedBucket", {}).items()]
    for users, r in runs:
        served = r["rateLimitedServed"]
        lines.append(
            f"  {users:<6}{r['groups']:>6}{r['accounts']:>6}{r['permissionSets']:>4}{r['provisionedPairs']:>7}"
            f"{fmt(r['rows'], 'd'):>7}  {str(r['enumeration'] or r['status']):<32}{fmt(r['apiCalls'], 'd'):>9}"
            f"{r['rigRequestsTotal']:>8}{r['neededRequests']['total']:>8}{served['sso']:>5}{served['identitystore']:>9}"
            f"{r['lookupEventsRequests']:>9}{fmt(r['wallSeconds'], '.1f', ' s'):>9}{fmt(r['boundSeconds'], '.1f', ' s'):>9}"
            f"{fmt(r['boundRatio'], '.2f'):>8}{fmt(r['wallSeconds'] / r['boundSecondsOneBucket'] if r['boundSecondsOneBucket'] else None, '.2f'):>16}"
            f"{fmt(r['achievedRatePerSecond'], '.1f'):>12}{fmt(mb(r['peakRssKb']), '.1f', ' MB'):>10}")
        if r["status"] != "success":
            lines.append(f"         FAILED: {str(r['error'])[:150]}")
        elif r["rows"] != r["expectedRows"]:
            lines.append(f"         rows {r['rows']} != the {r['expectedRows']} the organisation has")
    if scale.get("reportOneSharedBucket"):
        lines.append("  * the same organisation with sso and identitystore sharing one 20/s bucket (bound: their sum / 20)")
    return lines


# --- main -------------------------------------------------------------------------------------


BIN_DIR = ROOT / ".build" / "release"
SECTIONS = ["cold-starts", "scale", "activity"]


def main(argv: list[str] | None = None) -> int:
    global BIN_DIR
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 users only and 3 cold-start rounds (about 3 minutes)")
    parser.add_argument("--repeats", type=int, help="cold-start rounds (default 5; 3 with --quick)")
    parser.add_argument("--scale-repeats", type=int,
                        help="runs of each monitor and report size, as medians (default 3; 1 with --quick)")
    parser.add_argument("--sizes", help="report sizes in users, comma-separated (default 1000,5000,10000)")
    parser.add_argument("--monitor-users", type=int, help="registry size for the monitors (default 10000; 1000 with --quick)")
    parser.add_argument("--activity-sizes", help="daily-active users for the activity ledger's daily runs and "
                        "ingestion, comma-separated (default 1000,10000; 1000 with --quick)")
    parser.add_argument("--backfill-users", type=int, help="daily-active users whose first backfill is measured "
                        "(default 1000: about 35 minutes; 100 with --quick; 0: none)")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only this section (repeatable)")
    parser.add_argument("--no-shared-check", action="store_true", help="skip the extra report run with one shared bucket")
    parser.add_argument("--bin", type=Path, default=BIN_DIR, help="the release binaries")
    parser.add_argument("--zips", type=Path, default=ROOT / ".build" / "lambda", help="the packaged zips")
    parser.add_argument("--output", type=Path, default=ROOT / "bench-output" / "bench.json")
    parser.add_argument("--table-from", type=Path, metavar="JSON", help="print the table of an earlier run and stop")
    args = parser.parse_args(argv)
    if args.table_from:
        earlier = json.loads(args.table_from.read_text())
        for run in ((earlier.get("scale") or {}).get("monitors") or {}).get("runs", {}).values():
            if "wallBoundRatio" not in run and run.get("lookupBoundSeconds"):  # written before the ratio was the step's
                run["wallBoundRatio"] = run["boundRatio"]
                run["boundRatio"] = (run["phases"]["cloudTrailSeconds"] or 0) / run["lookupBoundSeconds"]
        earlier["checks"] = evaluate(earlier)
        print(table(earlier))
        return 0
    BIN_DIR = args.bin
    missing = [p for p in PRODUCTS if not (BIN_DIR / p).is_file()]
    if missing:
        print(f"bench: no release binary for {', '.join(missing)} in {BIN_DIR}: run scripts/package first", file=sys.stderr)
        return 2
    repeats = args.repeats or (3 if args.quick else 5)
    scale_repeats = args.scale_repeats or (1 if args.quick else 3)
    sizes_to_run = [int(s) for s in args.sizes.split(",")] if args.sizes else ([1000] if args.quick else [1000, 5000, 10000])
    monitor_users = args.monitor_users or (1000 if args.quick else 10000)
    if monitor_users not in sizes_to_run:
        sizes_to_run = sorted(sizes_to_run + [monitor_users])
    activity_sizes = ([int(s) for s in args.activity_sizes.split(",")] if args.activity_sizes
                      else ([1000] if args.quick else [1000, 10000]))
    backfill_users = args.backfill_users if args.backfill_users is not None else (100 if args.quick else 1000)
    sections = args.only or SECTIONS
    started = time.monotonic()
    results = {"schemaVersion": 1, "startedAt": iso(dt.datetime.now(dt.timezone.utc)), "quick": args.quick,
               "command": " ".join(shlex.quote(a) for a in [os.environ.get("BENCH_COMMAND", sys.argv[0])] + sys.argv[1:]),
               "sections": sections, "machine": machine(), "repeats": repeats, "scaleRepeats": scale_repeats, "targets": TARGETS,
               "reportBound": "max over the rate-limited services of (requests served / allowed rate): sso and "
                              "identitystore at 20/s each (or their sum at 20/s with one shared bucket), LookupEvents "
                              "at 2/s; latency and unlimited services are not counted"}
    directory = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        packages = Packages.unpack(args.zips, directory / "packages")
        if "cold-starts" in sections:
            results["sizes"] = sizes(BIN_DIR, args.zips)
            results["coldStarts"] = cold_starts(directory, BIN_DIR, packages, repeats)
            results["libraryLoads"] = library_loads(packages.layer / "lib" / "libcurl-https.so.4", max(repeats, 5))
        if "scale" in sections:
            results["scale"] = scale_runs(directory, packages, sizes_to_run, monitor_users, not args.no_shared_check,
                                          scale_repeats)
        if "activity" in sections:
            results["activity"] = activity_runs(directory, packages, activity_sizes, backfill_users)
    except BaseException:
        log(f"failed; rig logs kept in {directory}")
        raise
    results["elapsedSeconds"] = time.monotonic() - started
    results["machine"]["loadAverageAtEnd"] = os.getloadavg()
    results["checks"] = evaluate(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    text = table(results)
    args.output.with_suffix(".txt").write_text(text + "\n")
    shutil.rmtree(directory, ignore_errors=True)
    print(text)
    print(f"\nwritten: {args.output} (and {args.output.with_suffix('.txt').name})")
    return 0


def _stop_on_sigterm(signum, frame) -> None:
    """SIGTERM unwinds like Ctrl-C, so every rig's `finally` stops its servers."""
    raise KeyboardInterrupt


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    sys.exit(main())
