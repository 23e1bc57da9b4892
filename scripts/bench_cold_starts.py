"""The benchmark's first section: binary and zip sizes, and the cold start of each function's
bootstrap (the release binary, and the zip's with the layer, as Lambda runs it) against a Python
3 handler that imports boto3 and creates its seven clients, and against a bash runtime: the floor
any runtime pays here."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

from rig import cloudtrail_events
from rig import lambda_emulator
from rig import organisation
from bench_figures import fmt, mb, median
from bench_rig import function_variables, invocation_summary, log, policy_values, running_rig
from rig.cloudtrail_events import iso
from rig.deploy import PRODUCTS, Packages, eventbridge

REFERENCE = "python-boto3-reference"
REFERENCE_CLIENTS = ["dynamodb", "identitystore", "sqs", "sso-admin", "cloudtrail", "s3", "organizations"]

TARGETS = {
    "coldStartMs": 10.0,            # median, each function
    "coldStartSpeedup": 30.0,       # boto3 reference median / function median
    "registryPeakRssMb": 32.0,      # writer and cleaner
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


