"""The rollups besides the case facts (chats, the portal's deflection funnel, and whatever edge
packages register): refreshed by the same periodic job, rebuilt by the same command.

An edge package adds its own with
app.extensions["insight_rollups"].append(Rollup("kb-searches", refresh, rebuild))."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from helpdesk.extensions import db
from helpdesk.insights.models import InsightState


@dataclass(frozen=True)
class Rollup:
    name: str
    refresh: Callable[[], object]  # recompute what changed since its watermark; the caller commits
    rebuild: Callable[[], object]  # from scratch (after a change of HELPDESK_TIMEZONE, or to repair)


def registered() -> list[Rollup]:
    from helpdesk.insights import chat_rollup, deflection_rollup

    return [Rollup("chats", chat_rollup.refresh, chat_rollup.rebuild),
            Rollup("deflection", deflection_rollup.refresh, deflection_rollup.rebuild),
            *current_app.extensions.get("insight_rollups", [])]


def refresh_all(commit: Callable[[], None]) -> None:
    for rollup in registered():
        rollup.refresh()
        commit()


def rebuild_all(commit: Callable[[], None]) -> None:
    for rollup in registered():
        rollup.rebuild()
        commit()


def mark_rebuilt(name: str, at: datetime) -> None:
    """After a rebuild, the watermark `name` stands at `at` (the newest row seen, or now), with a
    count no refresh can match, so the next refresh looks at the last minutes again."""
    state = db.session.get(InsightState, name)
    if state is None:
        state = InsightState(name=name, number=0)
        db.session.add(state)
    state.at, state.number = at, -1
    db.session.flush()
