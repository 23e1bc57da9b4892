"""The activity ledger at real activity volumes (issue 11), for daily-active users whose activity
scripts/rig/activity.py makes (a sign-in every working day, role sign-ins through the day):

1. the first backfill: the inactivity monitor's `{"catchUp": true}` invoked as its schedule
   would, each with Lambda's 15-minute deadline, until CloudTrail's 90 days are covered:
   invocations and LookupEvents requests (the fake allows AWS's 2 a second);
2. the daily judging run after it, the last catch-up one schedule interval earlier, at the
   default schedule's hour and at the busiest hour of the day: wall time, LookupEvents requests,
   peak RSS;
3. evidence ingestion: SQS batches of 100 sign-in and role sign-in events through the inactivity
   monitor: events a second, and DynamoDB requests an event.

Each size runs on a rig of its own. A backfill reads about 50 events a request at 2 requests a
second, so it is measured at one size (1,000 users; 100 with --quick) and the larger one is
projected from it: the requests grow with the events, which grow with the users.
"""
from __future__ import annotations

import bisect
import datetime as dt
import json
import math
import time
from pathlib import Path

from bench_figures import fmt, mb, run_outcome
from bench_rig import LOOKUP_RATE, Rig, function_variables, invocation_summary, log, lookup_pages, policy_values, running_rig

from rig import activity
from rig import organisation
from rig.cloudtrail_events import iso
from rig.deploy import Packages, eventbridge, sqs_batch

MONITOR = "inactivity-monitor"
DEADLINE_SECONDS = 900  # Lambda's 15 minutes, the function's timeout in infra/
# infra/variables.tf: monitor_schedule_expression cron(0 6 * * ? *), catch_up_schedule_expression.
DEFAULT_JUDGING_HOUR = 6
CATCH_UP_INTERVAL = dt.timedelta(minutes=15)
LATE_DELIVERY = dt.timedelta(minutes=30)  # CoverageReader.lateDelivery: what every read covers again
SIGN_IN_NAMES = ("UserAuthentication", "CredentialVerification")
BATCH = 100  # the evidence queues' event source mapping batch size (infra/evidence.tf)
INGESTION_BATCHES = 20
MAX_BACKFILL_INVOCATIONS = 40


class Organisation:
    """A seeded organisation on one rig: its users as workers, and one set of resources per
    measurement (a registry, a ledger, a queue), so that one measurement's coverage does not
    feed the next."""

    def __init__(self, one: Rig, users: int):
        self.one, self.users = one, users
        self.spec = organisation.generate(users, tag=f"act{users}", seed=7)
        self.ids = one.seed(self.spec)
        self.store_arn = f"arn:aws:identitystore::{one.state['accountId']}:identitystore/{self.ids['identityStoreId']}"
        names = {p["key"]: p["name"] for p in self.spec["permissionSets"]}
        reach = organisation.accesses(self.spec)
        self.workers = [activity.Worker(self.ids["users"][u["key"]], u["userName"],
                                        tuple((self.ids["accounts"][a], names[p]) for a, p in reach.get(u["key"], [])))
                        for u in self.spec["users"]]

    def deploy(self, tag: str, last_sign_ins: dict[str, str] | None = None) -> dict:
        """Fresh resources with the registry as the writer left it (and, when given, the sign-in
        dates a backfill left in it), and the monitor's environment for them."""
        resources = self.one.resources(f"{tag}{self.users}")
        items = organisation.registry_items(self.spec, self.ids, dt.datetime.now(dt.timezone.utc))
        for item in items:
            item.pop("LastSignInAt", None)
            if last_sign_ins and item["UserId"] in last_sign_ins:
                item["LastSignInAt"] = last_sign_ins[item["UserId"]]
        self.one.put_registry(resources["registry_table"], items)
        credentials = self.one.function_user(MONITOR, policy_values(self.one.state, self.ids, resources))
        return self.one.environment(credentials, **function_variables(MONITOR, self.ids, resources))

    def activity(self, start: dt.datetime, end: dt.datetime, roles: bool) -> list[dict]:
        return activity.between(self.workers, start, end, self.store_arn, roles=roles)

    def load(self, records: list[dict]) -> None:
        self.one.fake("DELETE", "events")
        for start in range(0, len(records), 5000):
            self.one.fake("POST", "events", records[start:start + 5000])


def run_once(one: Rig, packages: Packages, environment: dict, event: dict) -> dict:
    one.fake("DELETE", "stats")
    one.stats(reset=True)
    result = packages.run(MONITOR, [event], environment, timeout_seconds=DEADLINE_SECONDS,
                          max_wall_seconds=DEADLINE_SECONDS + 120)
    run = invocation_summary(result)
    moto = one.stats()
    dynamodb = moto["services"].get("dynamodb", {})
    return {"status": run["status"], "error": run["error"], "summary": run["response"],
            "wallSeconds": (result.first_invocation_ms or 0) / 1000, "peakRssKb": run["peakRssKb"],
            "coldStartMs": run["coldStartMs"], "lookupEventsRequests": lookup_pages(one.fake("GET", "stats")),
            "dynamodbRequests": dynamodb.get("requests", 0)}


def stream_counts(records: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record["eventName"]] = counts.get(record["eventName"], 0) + 1
    return counts


def fewest_requests(counts: dict[str, int]) -> int:
    """A read of each sign-in name, 50 events a page, at least a page a name."""
    return sum(max(1, math.ceil(counts.get(name, 0) / 50)) for name in SIGN_IN_NAMES + ("Authenticate",))


# --- 1: the first backfill --------------------------------------------------------------------


def backfill(org: Organisation, packages: Packages) -> dict:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    records = org.activity(now - dt.timedelta(days=90) + dt.timedelta(hours=1), now, roles=False)
    org.load(records)
    environment = org.deploy("backfill")
    counts = stream_counts(records)
    log(f"backfill, {org.users} daily-active users: {len(records)} sign-in events in 90 days {counts}")
    invocations = []
    while len(invocations) < MAX_BACKFILL_INVOCATIONS:
        run = run_once(org.one, packages, environment, {"catchUp": True})
        invocations.append(run)
        summary = run["summary"] if isinstance(run["summary"], dict) else {}
        log(f"backfill invocation {len(invocations)}: {run['status']}, {run['wallSeconds']:.0f} s, "
            f"{run['lookupEventsRequests']} LookupEvents, covered from {summary.get('coveredFrom')}")
        if run["status"] != "success" or summary.get("coverageComplete"):
            break
    requests = sum(run["lookupEventsRequests"] for run in invocations)
    return {"users": org.users, "events": len(records), "eventsByName": counts,
            "fewestRequests": fewest_requests(counts), "invocations": len(invocations),
            "lookupEventsRequests": requests, "requestsPerFewest": requests / fewest_requests(counts),
            "wallSeconds": sum(run["wallSeconds"] for run in invocations),
            "complete": bool(invocations) and invocations[-1]["status"] == "success"
            and bool((invocations[-1]["summary"] or {}).get("coverageComplete")),
            "peakRssKb": max((run["peakRssKb"] or 0) for run in invocations) if invocations else None,
            "runs": invocations}


def projected_backfill(measured: dict, users: int) -> dict:
    """The backfill at `users`: the measured requests scaled with the users (each works and signs
    in alike), over invocations that each read as much as a full measured one did."""
    requests = measured["lookupEventsRequests"] * users / measured["users"]
    full = [run["lookupEventsRequests"] for run in measured["runs"][:-1]] or [DEADLINE_SECONDS * LOOKUP_RATE * 0.9]
    per_invocation = sum(full) / len(full)
    return {"users": users, "projectedFrom": measured["users"], "lookupEventsRequests": round(requests),
            "invocations": math.ceil(requests / per_invocation),
            # Each invocation reads until its deadline; the next starts at the next scheduled catch-up.
            "hoursAtTheCatchUpSchedule": math.ceil(requests / per_invocation)
            * max(CATCH_UP_INTERVAL.total_seconds(), DEADLINE_SECONDS) / 3600}


# --- 2: the daily judging run -----------------------------------------------------------------


def recent_wednesday(hour: int) -> dt.datetime:
    """A Wednesday at `hour` UTC within the last two weeks: its day and the day before are
    working days in every region."""
    now = dt.datetime.now(dt.timezone.utc)
    day = (now - dt.timedelta(days=7 + (now.weekday() - 2) % 7)).date()
    return dt.datetime.combine(day, dt.time(hour), dt.timezone.utc)


def busiest_moment(records: list[dict], day_start: dt.datetime) -> dt.datetime:
    """The end of the day's busiest stretch for a judging run: the most sign-in events within the
    last catch-up interval and the overlap before it, at five-minute steps."""
    span = CATCH_UP_INTERVAL + LATE_DELIVERY
    stamps = sorted(activity.parse(r["eventTime"]) for r in records if r["eventName"] in SIGN_IN_NAMES)
    candidates = [day_start + dt.timedelta(minutes=5 * step) for step in range(1, 24 * 12 + 1)]
    return max(candidates, key=lambda end: bisect.bisect_left(stamps, end) - bisect.bisect_left(stamps, end - span))


def judging_run(org: Organisation, packages: Packages, at: dt.datetime, label: str, week: list[dict]) -> dict:
    """The ledger covers up to the last catch-up (`at` less the interval): the registry holds the
    sign-ins before it; the catch-up itself is run on the fake's events of the stretch before."""
    caught_up = at - CATCH_UP_INTERVAL
    before = [r for r in week if activity.parse(r["eventTime"]) < caught_up - LATE_DELIVERY - dt.timedelta(hours=1)]
    latest: dict[str, str] = {}
    for record in before:
        if record["eventName"] in SIGN_IN_NAMES:
            user = record["userIdentity"]["onBehalfOf"]["userId"]
            latest[user] = max(latest.get(user, ""), record["eventTime"])
    window = [r for r in week if caught_up - LATE_DELIVERY - dt.timedelta(hours=1) <= activity.parse(r["eventTime"]) <= at]
    org.load(window)
    environment = org.deploy(label, latest)
    catch_up = run_once(org.one, packages, environment, {"catchUp": True, "asOf": iso(caught_up)})
    judged = run_once(org.one, packages, environment, {"asOf": iso(at)})
    read = [r for r in window if caught_up - LATE_DELIVERY <= activity.parse(r["eventTime"]) <= at]
    summary = judged["summary"] if isinstance(judged["summary"], dict) else {}
    log(f"judging run at {iso(at)} ({label}), {org.users} daily-active users: {judged['status']} in "
        f"{judged['wallSeconds']:.1f} s, {judged['lookupEventsRequests']} LookupEvents, "
        f"coverage complete {summary.get('coverageComplete')}, {summary.get('expired')} expired")
    return {"at": iso(at), "lastCatchUp": iso(caught_up), "catchUpStatus": catch_up["status"],
            "eventsToRead": stream_counts(read), "fewestRequests": fewest_requests(stream_counts(read)),
            "cloudTrailSecondsAtTheLimit": judged["lookupEventsRequests"] / LOOKUP_RATE, **judged}


def daily_runs(org: Organisation, packages: Packages) -> dict:
    default = recent_wednesday(DEFAULT_JUDGING_HOUR)
    week = org.activity(default - dt.timedelta(days=3), default + dt.timedelta(days=1), roles=False)
    busiest = busiest_moment(week, default.replace(hour=0))
    return {"defaultSchedule": judging_run(org, packages, default, "daily", week),
            "busiestHour": judging_run(org, packages, busiest, "busiest", week)}


# --- 3: evidence ingestion --------------------------------------------------------------------


def ingestion(org: Organisation, packages: Packages) -> dict:
    day = recent_wednesday(0)
    whole_day = org.activity(day, day + dt.timedelta(days=1), roles=True)
    records = whole_day[::max(1, len(whole_day) // (BATCH * INGESTION_BATCHES))][:BATCH * INGESTION_BATCHES]
    batches = [sqs_batch([json.dumps(eventbridge(r)) for r in records[start:start + BATCH]])
               for start in range(0, len(records), BATCH)]
    environment = org.deploy("evidence")
    org.one.stats(reset=True)
    started = time.monotonic()
    result = packages.run(MONITOR, batches, environment, timeout_seconds=DEADLINE_SECONDS, max_wall_seconds=1200)
    process_seconds = time.monotonic() - started
    moto = org.one.stats()["services"].get("dynamodb", {})
    handled = [i for i in result.invocations if i.status == "success"]
    failures = sum(len((i.response or {}).get("batchItemFailures", [])) for i in handled)
    # The first batch's time holds the cold start's first connections: the warm ones are the rate.
    warm = sum(i.duration_ms or 0 for i in result.invocations[1:]) / 1000
    warm_events = len(records) - BATCH
    log(f"ingestion, {org.users} users: {len(records)} events in {len(batches)} batches, "
        f"{len(handled)} handled, {failures} failures, {moto.get('requests', 0)} DynamoDB requests")
    return {"events": len(records), "eventsByName": stream_counts(records), "batches": len(batches),
            "handled": len(handled), "batchItemFailures": failures,
            "eventsPerSecond": warm_events / warm if warm else None,
            "dynamodbRequests": moto.get("requests", 0), "dynamodbRequestsPerEvent": moto.get("requests", 0) / len(records),
            "dynamodbOperations": moto.get("operations", {}), "peakRssKb": result.peak_rss_kb,
            "processSeconds": process_seconds}


def activity_runs(directory: Path, packages: Packages, sizes: list[int], backfill_users: int) -> dict:
    """Each size on a rig of its own: the daily judging runs and ingestion; then the backfill at
    `backfill_users` (projected to the others), which waits on LookupEvents' rate for most of
    its time and so comes last, after the measurements that a busy machine would disturb."""
    results: dict = {"sizes": {}, "backfill": None, "lateDeliverySeconds": LATE_DELIVERY.total_seconds(),
                     "catchUpIntervalSeconds": CATCH_UP_INTERVAL.total_seconds()}
    for users in sizes:
        with running_rig(directory, f"activity{users}") as one:
            org = Organisation(one, users)
            results["sizes"][str(users)] = {"daily": daily_runs(org, packages), "ingestion": ingestion(org, packages)}
    if backfill_users:
        with running_rig(directory, f"backfill{backfill_users}") as one:
            results["backfill"] = backfill(Organisation(one, backfill_users), packages)
    results["projectedBackfills"] = {str(users): projected_backfill(results["backfill"], users)
                                     for users in sizes if results["backfill"] and users != backfill_users}
    return results


# --- targets and the table --------------------------------------------------------------------

DAILY_READ_TARGET_SECONDS = 60.0  # issue 11: the daily judging run at 10,000 daily-active users


def activity_checks(results: dict) -> list[dict]:
    checks = []
    backfill = results["backfill"]
    if backfill:
        checks.append({"target": f"backfill at {backfill['users']} daily-active users completes, every invocation "
                                 f"within its {DEADLINE_SECONDS} s deadline",
                       "value": backfill["invocations"],
                       "pass": backfill["complete"] and all(r["status"] == "success" for r in backfill["runs"])})
        checks.append({"target": "backfill reads each page about once (requests / fewest possible <= 1.1)",
                       "value": backfill["requestsPerFewest"], "pass": backfill["requestsPerFewest"] <= 1.1})
    for users, size in results["sizes"].items():
        for label, run in size["daily"].items():
            summary = run["summary"] if isinstance(run["summary"], dict) else {}
            complete = run["status"] == "success" and summary.get("coverageComplete") is True
            checks.append({"target": f"daily judging run at {users} users ({label}) judges: coverage complete",
                           "value": run["status"], "pass": complete})
            if users == "10000":
                checks.append({"target": f"daily judging run at 10000 users ({label}): CloudTrail reading "
                                         f"<= {DAILY_READ_TARGET_SECONDS:.0f} s at 2 requests/s",
                               "value": run["cloudTrailSecondsAtTheLimit"],
                               "pass": run["cloudTrailSecondsAtTheLimit"] <= DAILY_READ_TARGET_SECONDS})
        ingest = size["ingestion"]
        checks.append({"target": f"ingestion at {users} users: every batch handled, no failed record",
                       "value": ingest["batchItemFailures"],
                       "pass": ingest["handled"] == ingest["batches"] and ingest["batchItemFailures"] == 0})
    return checks


def activity_table(results: dict) -> list[str]:
    lines = ["", f"Activity ledger, daily-active users (scripts/rig/activity.py); LookupEvents {LOOKUP_RATE}/s; "
                 f"late-delivery overlap {results['lateDeliverySeconds'] / 60:g} min, catch-up every "
                 f"{results['catchUpIntervalSeconds'] / 60:g} min"]
    backfill = results["backfill"]
    if backfill:
        names = ", ".join(f"{k} {v}" for k, v in sorted(backfill["eventsByName"].items()))
        lines += [f"  first backfill, measured at {backfill['users']} users: {backfill['events']} sign-in events in 90 days "
                  f"({names})",
                  f"    {backfill['invocations']} invocations of at most {DEADLINE_SECONDS} s, "
                  f"{backfill['lookupEventsRequests']} LookupEvents requests ({backfill['requestsPerFewest']:.2f}x the fewest "
                  f"possible, {backfill['fewestRequests']}), {backfill['wallSeconds'] / 60:.0f} min reading, peak RSS "
                  f"{fmt(mb(backfill['peakRssKb']), '.1f', ' MB')}, complete: {backfill['complete']}"]
    for users, projected in results.get("projectedBackfills", {}).items():
        lines.append(f"  first backfill at {users} users, projected from {projected['projectedFrom']}: about "
                     f"{projected['lookupEventsRequests']} requests in {projected['invocations']} invocations "
                     f"(about {projected['hoursAtTheCatchUpSchedule']:.1f} h at the catch-up schedule)")
    lines.append("  daily judging run       users  at (UTC)            events to read  LookupEvents  reading at 2/s  "
                 "wall      peak RSS  result")
    for users, size in results["sizes"].items():
        for label, run in size["daily"].items():
            outcome = run_outcome(run, lambda summary: (
                f"{summary.get('usersChecked')} checked, {summary.get('expired')} expired, coverage "
                f"{'complete' if summary.get('coverageComplete') else 'INCOMPLETE'}"))
            lines.append(f"    {label:<20}{users:>6}  {run['at']:<20}{sum(run['eventsToRead'].values()):>14}"
                         f"{run['lookupEventsRequests']:>14}{fmt(run['cloudTrailSecondsAtTheLimit'], '.0f', ' s'):>16}"
                         f"{fmt(run['wallSeconds'], '.1f', ' s'):>8}{fmt(mb(run['peakRssKb']), '.1f', ' MB'):>12}  {outcome}")
    lines.append("  evidence ingestion      users  events  batches  events/s (warm)  DynamoDB requests/event  peak RSS")
    for users, size in results["sizes"].items():
        ingest = size["ingestion"]
        lines.append(f"    {'SQS batches of ' + str(BATCH):<20}{users:>6}{ingest['events']:>8}{ingest['batches']:>9}"
                     f"{fmt(ingest['eventsPerSecond'], '.0f'):>17}{ingest['dynamodbRequestsPerEvent']:>25.2f}"
                     f"{fmt(mb(ingest['peakRssKb']), '.1f', ' MB'):>10}")
    return lines
