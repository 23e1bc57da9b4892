"""How the benchmark's sections state their figures: medians, megabytes, a verdict, a table cell."""
from __future__ import annotations

import statistics


def median(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def mb(kb) -> float | None:
    return None if kb is None else kb / 1024


def fmt(value, spec: str = ".1f", unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, (int, float)):
        return f"{value:{spec}}{unit}"
    return str(value)


def run_outcome(run: dict, describe) -> str:
    """A table's last column for one function run: `describe(summary)` when it succeeded, else its error."""
    if run["status"] != "success":
        return f"FAILED {str(run['error'])[:60]}"
    return describe(run["summary"] if isinstance(run["summary"], dict) else {})
