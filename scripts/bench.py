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
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_rig import ROOT, log

from bench_activity import activity_checks, activity_runs, activity_table
from bench_cold_starts import TARGETS as COLD_START_TARGETS
from bench_cold_starts import cold_start_checks, cold_start_table, cold_starts, library_loads, sizes
from bench_figures import fmt, verdict
from bench_scale import TARGETS as SCALE_TARGETS
from bench_scale import scale_checks, scale_runs, scale_table
from rig.cloudtrail_events import iso
from rig.deploy import PRODUCTS, Packages

TARGETS = {**COLD_START_TARGETS, **SCALE_TARGETS}

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


# --- targets and the table --------------------------------------------------------------------


def evaluate(results: dict) -> list[dict]:
    checks = []
    if "coldStarts" in results:
        checks += cold_start_checks(results["coldStarts"])
    if "scale" in results:
        checks += scale_checks(results["scale"])
    if "activity" in results:
        checks += activity_checks(results["activity"])
    return checks


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
        lines += activity_table(results["activity"])
    lines += ["", "Targets"]
    for check in results["checks"]:
        value = check["value"]
        shown = fmt(value, ".2f") if isinstance(value, float) else fmt(value)
        lines.append(f"  {verdict(check['pass']):<5} {check['target']:<78} {shown}")
    return "\n".join(lines)


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
    parser.add_argument("--monitor-users", type=int, help="registry size for the monitors (default 10000; 1000 with --quick; 0: none)")
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
    monitor_users = args.monitor_users if args.monitor_users is not None else (1000 if args.quick else 10000)
    if monitor_users and monitor_users not in sizes_to_run:
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
