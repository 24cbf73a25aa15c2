"""Pure chat rules: which agent gets the next chat, queue position and expected wait, open hours."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from helpdesk.chat.models import Routing

DEFAULT_HANDLE_SECONDS = 120  # the expected wait before any chat has been answered


@dataclass(frozen=True)
class AgentLoad:
    """What routing knows about one agent: id, chats in hand, capacity, last chat given."""

    user_id: int
    load: int
    capacity: int
    last_assigned_at: datetime | None = None

    @property
    def spare(self) -> int:
        return max(0, self.capacity - self.load)


def choose_agent(agents: list[AgentLoad], routing: Routing, exclude: set[int] = frozenset()) -> int | None:
    """The agent who gets the next chat, or None when nobody has room.

    Round robin: the agent whose last chat came longest ago (never first), ties by id.
    Least loaded: the fewest chats in hand relative to capacity, then round robin among them.
    """
    candidates = [a for a in agents if a.spare > 0 and a.user_id not in exclude]
    if not candidates:
        return None

    def waited(a: AgentLoad):
        return (a.last_assigned_at is not None, a.last_assigned_at or datetime.min, a.user_id)

    if routing == Routing.ROUND_ROBIN:
        return min(candidates, key=waited).user_id
    return min(candidates, key=lambda a: (a.load / a.capacity, *waited(a))).user_id


def plan_assignments(waiting: list[tuple[int, Routing]], agents: list[AgentLoad],
                     now: datetime) -> list[tuple[int, int]]:
    """Give waiting chats (oldest first, each with its topic's routing) to agents while anyone
    has room: [(chat_id, user_id)]."""
    pool = {a.user_id: a for a in agents}
    plan = []
    for chat_id, routing in waiting:
        user_id = choose_agent(list(pool.values()), routing)
        if user_id is None:
            break
        a = pool[user_id]
        pool[user_id] = AgentLoad(a.user_id, a.load + 1, a.capacity, now)
        plan.append((chat_id, user_id))
    return plan


def expected_wait_seconds(position: int, agents_online: int, recent_waits: list[int]) -> int | None:
    """A rough wait for the visitor at `position` (1 = next): recent waits spread over the agents.
    None when nobody is online to answer."""
    if agents_online <= 0:
        return None
    per_chat = sorted(recent_waits)[len(recent_waits) // 2] if recent_waits else DEFAULT_HANDLE_SECONDS
    per_chat = max(per_chat, 15)
    return int(per_chat * position / agents_online)


def describe_wait(seconds: int | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 60:
        return "less than a minute"
    minutes = round(seconds / 60)
    return "about 1 minute" if minutes == 1 else f"about {minutes} minutes"


def seconds_between(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds()))


def valid_rating(value) -> int | None:
    try:
        rating = int(value)
    except (TypeError, ValueError):
        return None
    return rating if 1 <= rating <= 5 else None
