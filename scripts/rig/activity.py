"""A working organisation's everyday activity, as CloudTrail records (DEVELOPERS.md, "Realistic
load"): what the activity ledger, the monitors and the report meet at the scale our users live at.

Users work in three regions (Americas, Europe, Asia-Pacific) and sign in to the access portal on
each working day of their region, once, in the morning: the portal session lasts 8 hours. A
sign-in is one or two `CredentialVerification` events (password, then MFA for most) and a
`UserAuthentication`. Through the day they take permission set roles: `Federate` for a console
session or two, and `GetRoleCredentials` at every CLI credential refresh while they work.
Deterministic: the same arguments give the same records.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from rig import cloudtrail_events as ct

# (offset from UTC in hours, share of the users)
REGIONS = ((-5, 0.4), (1, 0.4), (8, 0.2))
MFA_SHARE = 0.75  # sign-ins that verify a second factor: two CredentialVerification events
CONSOLE_SESSIONS = (1, 2)  # Federate a working day, fewest to most
CLI_REFRESHES = (2, 6)  # GetRoleCredentials a working day, fewest to most
WORKING_HOURS = 8


@dataclass(frozen=True)
class Worker:
    """A daily-active user and the (account id, role name) pairs they can take."""

    user_id: str
    user_name: str
    roles: tuple[tuple[str, str], ...] = ()


def region_offset(index: int) -> int:
    """The UTC offset of the `index`th user's region, spread as REGIONS says."""
    position, total = (index * 7919) % 1000 / 1000, 0.0
    for offset, share in REGIONS:
        total += share
        if position < total:
            return offset
    return REGIONS[-1][0]


def working_day(workers: list[Worker], day: dt.date, identity_store_arn: str, seed: int = 5,
                roles: bool = True) -> list[dict]:
    """Every worker's activity on the calendar day `day` of their own region (a weekday)."""
    if day.weekday() >= 5:
        return []
    rng = random.Random(f"activity/{seed}/{day.isoformat()}")
    records = []
    for index, worker in enumerate(workers):
        offset = region_offset(index)
        # Mornings: most sign in between 08:00 and 09:30 local time, a few up to 10:30.
        local_start = dt.datetime.combine(day, dt.time(7, 30), dt.timezone.utc)
        start = local_start - dt.timedelta(hours=offset) + dt.timedelta(minutes=rng.triangular(0, 180, 60))
        records += sign_in(worker, start, identity_store_arn, mfa=rng.random() < MFA_SHARE)
        if roles and worker.roles:
            records += role_sessions(worker, start, identity_store_arn, rng)
    return records


def sign_in(worker: Worker, when: dt.datetime, identity_store_arn: str, mfa: bool) -> list[dict]:
    steps = ["CredentialVerification"] * (2 if mfa else 1) + ["UserAuthentication"]
    return [ct.sign_in(worker.user_id, worker.user_name, when + dt.timedelta(seconds=10 * step), identity_store_arn,
                       kind=kind) for step, kind in enumerate(steps)]


def role_sessions(worker: Worker, signed_in: dt.datetime, identity_store_arn: str, rng: random.Random) -> list[dict]:
    records = []
    for kind, (fewest, most) in (("Federate", CONSOLE_SESSIONS), ("GetRoleCredentials", CLI_REFRESHES)):
        for _ in range(rng.randint(fewest, most)):
            account_id, role_name = rng.choice(worker.roles)
            when = signed_in + dt.timedelta(seconds=60 + rng.randrange(WORKING_HOURS * 3600))
            records.append(ct.role_sign_in(worker.user_id, worker.user_name, when, account_id, role_name, kind=kind,
                                           identity_store_arn=identity_store_arn))
    return records


def between(workers: list[Worker], start: dt.datetime, end: dt.datetime, identity_store_arn: str, seed: int = 5,
            roles: bool = True) -> list[dict]:
    """The activity with `start` <= eventTime < `end`, oldest first."""
    records = []
    day = (start - dt.timedelta(days=1)).date()  # the regions' days straddle UTC's
    while day <= end.date() + dt.timedelta(days=1):
        records += [r for r in working_day(workers, day, identity_store_arn, seed, roles)
                    if start <= parse(r["eventTime"]) < end]
        day += dt.timedelta(days=1)
    return sorted(records, key=lambda r: r["eventTime"])


def parse(stamp: str) -> dt.datetime:
    return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
