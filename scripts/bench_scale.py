"""The benchmark's second section: both monitors on a large registry, and the credential report at
1,000 / 5,000 / 10,000 users under Identity Center's request rate (rig_knobs.py)."""
from __future__ import annotations

import datetime as dt
import math
import time
from pathlib import Path

from rig import organisation
from bench_figures import fmt, mb, median, run_outcome
from bench_rig import (LOOKUP_RATE, MONITORS, Rig, function_variables, invocation_summary, log, lookup_pages, operation, policy_values,
                       running_rig)
from rig.deploy import Packages

IDENTITY_CENTER_RATE = 20
IDENTITY_CENTER_LATENCY_MS = 20
LIMITED_SERVICES = ["sso", "identitystore"]
TARGETS = {
    "reportPeakRssMb10k": 128.0,    # the report at 10,000 users
    "reportPeakRssMb50k": 256.0,    # the report at 50,000 users, across its invocations
    "reportBoundRatio": 1.3,        # report wall time (every invocation's) / the rate-limit bound
    "reportWallSeconds10k": 900.0,  # 15 minutes: Lambda's limit
}
# The function's timeout for the report at each size (Lambda's 900 s unless named): at 50,000 users a
# 300-second deadline makes the report go on across invocations, as the state machine drives it.
REPORT_TIMEOUT_SECONDS = {50_000: 300}

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
    timeout = REPORT_TIMEOUT_SECONDS.get(counts["users"], 900)
    invocations = []
    try:
        started = time.monotonic()
        payload = {}
        while True:  # as the state machine does: again with the continuation until complete
            invocations.append(invocation_summary(packages.run(
                "credential-report", [payload], environment, timeout_seconds=timeout, max_wall_seconds=timeout + 60)))
            answer = invocations[-1]["response"] if isinstance(invocations[-1]["response"], dict) else {}
            if invocations[-1]["status"] != "success" or answer.get("complete") is not False:
                break
            log(f"credential-report: invocation {len(invocations)} stopped at its deadline, going on")
            payload = {"continuation": answer["continuation"]}
        process_seconds = time.monotonic() - started
    finally:
        one.knobs()  # off again
    fake, moto = one.fake("GET", "stats"), one.stats()
    run = {**invocations[-1], "peakRssKb": max((i["peakRssKb"] or 0) for i in invocations) or None}
    # The report's own time: every invocation's, without the process starts between them.
    wall = sum((i["firstInvocationMs"] or 0) for i in invocations) / 1000
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
        "timeoutSeconds": timeout, "invocations": len(invocations),
        "invocationSeconds": [(i["firstInvocationMs"] or 0) / 1000 for i in invocations],
        "progressBytes": [i["response"].get("progressBytes") for i in invocations[:-1] if isinstance(i["response"], dict)],
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
    log(f"credential-report: {run['status']} in {wall:.1f} s over {len(invocations)} invocation(s), {answer.get('apiCalls')} API calls "
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



def scale_checks(scale: dict) -> list[dict]:
    checks = []
    for users, run in scale["report"].items():
        finished = run["status"] == "success"
        checks.append({"target": f"report at {users} users finishes", "value": run["status"], "pass": finished})
        checks.append({"target": f"report at {users} users wall <= {TARGETS['reportBoundRatio']}x the rate-limit bound",
                       "value": run["boundRatio"],
                       "pass": finished and run["boundRatio"] is not None and run["boundRatio"] <= TARGETS["reportBoundRatio"]})
    fifty = scale["report"].get("50000")
    if fifty:
        checks.append({"target": f"report at 50000 users peak RSS <= {TARGETS['reportPeakRssMb50k']:.0f} MB",
                       "value": mb(fifty["peakRssKb"]) if fifty["peakRssKb"] else None,
                       "pass": fifty["peakRssKb"] is not None and mb(fifty["peakRssKb"]) <= TARGETS["reportPeakRssMb50k"]})
    ten = scale["report"].get("10000")
    checks.append({"target": f"report at 10000 users peak RSS <= {TARGETS['reportPeakRssMb10k']:.0f} MB",
                   "value": mb(ten["peakRssKb"]) if ten else None,
                   "pass": None if ten is None or ten["peakRssKb"] is None else mb(ten["peakRssKb"]) <= TARGETS["reportPeakRssMb10k"]})
    checks.append({"target": "report at 10000 users within 15 minutes",
                   "value": ten["wallSeconds"] if ten else None,
                   "pass": None if ten is None else ten["status"] == "success" and ten["wallSeconds"] <= TARGETS["reportWallSeconds10k"]})
    return checks



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
            outcome = run_outcome(r, lambda summary: (
                f"{summary.get('usersChecked')} checked, {summary.get('expired')} expired, {summary.get('warning')} warning, "
                f"{summary.get('evidenceRecorded')} recorded, {summary.get('messagesSent')} messages"))
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
              "  sso  idstore  lookups  wall      inv.  bound    ratio  1-bucket ratio  achieved/s  peak RSS"]
    runs = list(scale["report"].items()) + [(f"{u}*", r) for u, r in scale.get("reportOneSharedBucket", {}).items()]
    for users, r in runs:
        served = r["rateLimitedServed"]
        lines.append(
            f"  {users:<6}{r['groups']:>6}{r['accounts']:>6}{r['permissionSets']:>4}{r['provisionedPairs']:>7}"
            f"{fmt(r['rows'], 'd'):>7}  {str(r['enumeration'] or r['status']):<32}{fmt(r['apiCalls'], 'd'):>9}"
            f"{r['rigRequestsTotal']:>8}{r['neededRequests']['total']:>8}{served['sso']:>5}{served['identitystore']:>9}"
            f"{r['lookupEventsRequests']:>9}{fmt(r['wallSeconds'], '.1f', ' s'):>9}{r.get('invocations', 1):>5}"
            f"{fmt(r['boundSeconds'], '.1f', ' s'):>9}"
            f"{fmt(r['boundRatio'], '.2f'):>8}{fmt(r['wallSeconds'] / r['boundSecondsOneBucket'] if r['boundSecondsOneBucket'] else None, '.2f'):>16}"
            f"{fmt(r['achievedRatePerSecond'], '.1f'):>12}{fmt(mb(r['peakRssKb']), '.1f', ' MB'):>10}")
        if r["status"] != "success":
            lines.append(f"         FAILED: {str(r['error'])[:150]}")
        elif r["rows"] != r["expectedRows"]:
            lines.append(f"         rows {r['rows']} != the {r['expectedRows']} the organisation has")
    if scale.get("reportOneSharedBucket"):
        lines.append("  * the same organisation with sso and identitystore sharing one 20/s bucket (bound: their sum / 20)")
    return lines


