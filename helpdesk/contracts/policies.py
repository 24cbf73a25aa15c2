"""Pure rules about contracts and time: status, units from minutes, notice thresholds, timer maths."""
from __future__ import annotations

import math
import re
from datetime import date, datetime

from helpdesk.contracts.models import ContractStatus, TrackingUnit

# Followers hear about a contract this many days before it ends...
EXPIRY_NOTICE_DAYS = (30, 7, 1)
# ...and when this share of its units (or fewer) is left; 0 is "exhausted".
LOW_NOTICE_PERCENT = (20, 10, 0)
# An expired contract is announced if it ended at most this long ago (a job that was down for a
# while catches up; contracts long gone stay quiet).
EXPIRED_GRACE_DAYS = 7
MAX_LOG_MINUTES = 24 * 60


def contract_status(today: date, end_date: date, total_units: float, used_units: float) -> ContractStatus:
    """Expired after its last day; else exhausted once every unit is used; else active."""
    if today > end_date:
        return ContractStatus.EXPIRED
    if total_units and used_units >= total_units - 1e-9:
        return ContractStatus.EXHAUSTED
    return ContractStatus.ACTIVE


def units_from_minutes(unit: TrackingUnit, minutes: int, hours_per_day: float) -> float:
    """Logged minutes in the contract's unit, to two decimals."""
    if unit == TrackingUnit.HOURS:
        return round(minutes / 60, 2)
    if unit == TrackingUnit.DAYS:
        return round(minutes / 60 / (hours_per_day or 8), 2)
    raise ValueError("incidents are counted from closed cases, not from minutes")


def timer_minutes(started_at: datetime, stopped_at: datetime) -> int:
    """A stopped timer's whole minutes, rounded up, at least one."""
    seconds = max((stopped_at - started_at).total_seconds(), 0)
    return max(1, math.ceil(seconds / 60))


_DURATION = re.compile(r"^(?:(\d+(?:[.,]\d+)?)h)?(?:(\d+)m?)?$")


def parse_minutes(raw) -> int:
    """Minutes from what an agent typed: "45", "45m", "1h30", "1h30m", "1.5h"; ValueError else."""
    text = str(raw or "").strip().lower().replace(" ", "")
    if ":" in text:  # 1:30
        hours, _, mins = text.partition(":")
        if hours.isdigit() and mins.isdigit() and int(mins) < 60:
            return _checked(int(hours) * 60 + int(mins))
        raise ValueError("write minutes (45), hours (1.5h) or both (1h30m)")
    match = _DURATION.match(text)
    if not text or not match or not any(match.groups()):
        raise ValueError("write minutes (45), hours (1.5h) or both (1h30m)")
    hours = float(match.group(1).replace(",", ".")) if match.group(1) else 0
    return _checked(round(hours * 60) + int(match.group(2) or 0))


def _checked(minutes: int) -> int:
    if minutes <= 0:
        raise ValueError("must be more than zero")
    if minutes > MAX_LOG_MINUTES:
        raise ValueError("at most 24 hours in one entry")
    return minutes


def describe_minutes(minutes: int) -> str:
    """"45 min", "2 h", "3 h 20 min"."""
    minutes = int(minutes or 0)
    hours, mins = divmod(minutes, 60)
    if not hours:
        return f"{mins} min"
    return f"{hours} h {mins} min" if mins else f"{hours} h"


def due_notices(today: date, end_date: date, total_units: float, used_units: float, status: ContractStatus) -> list[tuple[str, str]]:
    """The (key, what happened) notices a contract deserves today; the caller sends each key once.

    Only the most urgent of each kind is returned, so a contract first seen 5 days before its
    end gets the 7-day notice, not the 30-day one as well.
    """
    out = []
    if status == ContractStatus.EXPIRED:
        if (today - end_date).days <= EXPIRED_GRACE_DAYS:
            out.append((f"expired:{end_date.isoformat()}", f"expired on {end_date.isoformat()}"))
        return out
    else:
        days_left = (end_date - today).days
        hit = [d for d in EXPIRY_NOTICE_DAYS if days_left <= d]
        if hit:
            d = min(hit)
            when = "today" if days_left == 0 else f"in {days_left} day{'s' if days_left != 1 else ''}"
            out.append((f"expiry:{end_date.isoformat()}:{d}", f"ends {when} ({end_date.isoformat()})"))
    if total_units:
        left = max(total_units - used_units, 0)
        percent_left = 100 * left / total_units
        hit = [p for p in LOW_NOTICE_PERCENT if percent_left <= p + 1e-9]
        if hit:
            p = min(hit)
            text = "has used all its units" if p == 0 else f"has {round(left, 2):g} of {total_units:g} units left ({percent_left:.0f}%)"
            out.append((f"low:{total_units:g}:{p}", text))
    return out
