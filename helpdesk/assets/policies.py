"""Pure rules about assets: serial numbers and warranty state."""
from __future__ import annotations

from datetime import date, timedelta

SERIAL_MAX = 120
WARRANTY_SOON_DAYS = 30


def clean_serial(raw) -> str:
    """Serial numbers compare without surrounding or inner runs of spaces, in upper case
    ("ab 12" and "AB  12" are one asset)."""
    return " ".join(str(raw or "").split()).upper()


def warranty_state(warranty_end: date | None, today: date) -> str:
    """"none", "expired", "ending" (within 30 days) or "active"."""
    if warranty_end is None:
        return "none"
    if warranty_end < today:
        return "expired"
    if warranty_end <= today + timedelta(days=WARRANTY_SOON_DAYS):
        return "ending"
    return "active"
