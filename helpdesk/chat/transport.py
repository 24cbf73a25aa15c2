"""Live delivery of chat events: committed first, then published (Redis pub/sub across web
processes, or in-process without Redis), and server-sent event streams that resume.

Every chat message has a per-chat number (`seq`) given in commit order. A stream sends
each message with `id: <seq>`, so a reconnecting EventSource asks for what came after the
last one it saw (the Last-Event-ID header, or `?after=`). Live events are only a fast path:
a stream that sees a gap, or loses Redis for a while, reads the missing messages from the
database, and it never sends a number twice. Typing and status events carry no id.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator

from flask import Flask, current_app
from redis import Redis

from helpdesk.extensions import db
from helpdesk.jobs import after_commit

log = logging.getLogger(__name__)

PREFIX = "helpdesk:chat:"
AGENTS = PREFIX + "agents"  # the consoles: new, routed, transferred and ended chats
_EXTENSION = "helpdesk.chat.broker"


def chat_channel(chat_id: int) -> str:
    return f"{PREFIX}{chat_id}"


class Subscription:
    """Events of one channel for one listener, in arrival order."""

    def __init__(self, broker: LocalBroker, channel: str):
        self.broker, self.channel = broker, channel
        self.queue: queue.SimpleQueue = queue.SimpleQueue()

    def get(self, timeout: float) -> dict | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.broker._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LocalBroker:
    """Delivery inside this process: enough for one web process (the embedded mode)."""

    def __init__(self):
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self._lock = threading.Lock()

    def subscribe(self, channel: str) -> Subscription:
        sub = Subscription(self, channel)
        with self._lock:
            self._subscribers[channel].add(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subscribers.get(sub.channel)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[sub.channel]

    def publish(self, channel: str, event: dict) -> None:
        self._deliver(channel, event)

    def _deliver(self, channel: str, event: dict) -> None:
        with self._lock:
            subs = list(self._subscribers.get(channel, ()))
        for sub in subs:
            sub.queue.put(event)

    def _deliver_all(self, event: dict) -> None:
        with self._lock:
            subs = [s for group in self._subscribers.values() for s in group]
        for sub in subs:
            sub.queue.put(event)

    def close(self) -> None:
        pass


class RedisBroker(LocalBroker):
    """Delivery across processes: every event goes through Redis, and one listener thread per
    process (on one pattern subscription) hands it to the local subscribers."""

    def __init__(self, url: str):
        super().__init__()
        self.redis = Redis.from_url(url)
        self._listener: threading.Thread | None = None
        self._listener_pid: int | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._start_lock = threading.Lock()

    def subscribe(self, channel: str) -> Subscription:
        self._ensure_listener()
        return super().subscribe(channel)

    def publish(self, channel: str, event: dict) -> None:
        self.redis.publish(channel, json.dumps(event))

    def _ensure_listener(self) -> None:
        with self._start_lock:
            # A forked worker inherits the object but not the thread.
            if self._listener is None or not self._listener.is_alive() or self._listener_pid != os.getpid():
                self._ready.clear()
                self._listener_pid = os.getpid()
                self._listener = threading.Thread(target=self._listen, name="helpdesk-chat-redis", daemon=True)
                self._listener.start()
        # A subscriber must not read its backlog before the pattern is live, or an event
        # published in between would be missed by both.
        if not self._ready.wait(10):
            raise ConnectionError("the chat listener could not subscribe to Redis")

    def _listen(self) -> None:
        delay = 0.2
        while not self._stopping.is_set():
            pubsub = self.redis.pubsub()
            try:
                pubsub.psubscribe(PREFIX + "*")
                # Ready only once Redis confirms: an event published before that would be lost.
                deadline = time.monotonic() + 10
                while True:
                    confirmation = pubsub.get_message(timeout=1.0)
                    if confirmation is not None and confirmation["type"] == "psubscribe":
                        break
                    if time.monotonic() > deadline:
                        raise ConnectionError("Redis did not confirm the chat subscription")
                if self._ready.is_set():
                    # Back after an outage: streams read what they missed from the database.
                    self._deliver_all({"type": "resync"})
                self._ready.set()
                delay = 0.2
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None or message["type"] != "pmessage":
                        continue
                    channel = message["channel"].decode()
                    try:
                        self._deliver(channel, json.loads(message["data"]))
                    except ValueError:
                        log.warning("dropped a malformed chat event on %s", channel)
            except Exception:
                log.exception("chat listener lost Redis; reconnecting in %.1f s", delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, 5.0)
            finally:
                try:
                    pubsub.close()
                except Exception:
                    pass

    def close(self) -> None:
        self._stopping.set()
        if self._listener is not None and self._listener is not threading.current_thread():
            self._listener.join(3)
        self.redis.close()


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions[_EXTENSION] = RedisBroker(url) if url else LocalBroker()


def broker(app: Flask | None = None) -> LocalBroker:
    app = app or current_app
    if _EXTENSION not in app.extensions:
        init_app(app)
    return app.extensions[_EXTENSION]


# --- publish after the commit ------------------------------------------------------------------


def announce(channel: str, event: dict) -> None:
    """Publish an event once the current transaction commits; never if it rolls back."""
    after_commit(_publish, (channel, event))


def publish_now(channel: str, event: dict) -> None:
    """Publish at once: for events that record nothing (typing)."""
    _publish(current_app._get_current_object(), [(channel, event)])


def _publish(app: Flask, items: list[tuple[str, dict]]) -> None:
    b = broker(app)
    for channel, event in items:
        try:
            b.publish(channel, event)
        except Exception:
            # The message is committed; a stream that missed it reads it on its next resync.
            app.logger.exception("could not publish a chat event on %s", channel)


# --- server-sent events ------------------------------------------------------------------------


def sse(event: dict) -> str:
    """One event in the text/event-stream format; messages carry their number as the id."""
    lines = []
    if event.get("type") == "message":
        lines.append(f"id: {event['seq']}")
    lines.append(f"event: {event.get('type', 'message')}")
    lines.append("data: " + json.dumps(event, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def parse_after(header: str | None, arg: str | None) -> int:
    """Where a stream resumes: the Last-Event-ID a reconnecting browser sends wins over ?after=."""
    for raw in (header, arg):
        if raw and raw.strip().isdigit():
            return int(raw.strip())
    return 0


def stream(app: Flask, chat_id: int, after: int, load_after: Callable[[int], list[dict]],
           heartbeat: float = 15.0, max_seconds: float | None = None,
           extra_channels: tuple[str, ...] = ()) -> Iterator[str]:
    """Events of one chat from message number `after` on: the stored backlog, then live ones.

    `load_after(n)` returns the message events numbered above n, oldest first (from the
    database, in an app context of its own). Subscribing comes before reading the backlog,
    so nothing committed in between is missed.
    """
    b = broker(app)
    subs = [b.subscribe(chat_channel(chat_id))] + [b.subscribe(c) for c in extra_channels]
    inbox = subs[0]
    for extra in subs[1:]:
        extra.queue = inbox.queue  # one queue to wait on
    deadline = time.monotonic() + max_seconds if max_seconds else None
    last = after
    try:
        yield "retry: 1500\n\n"
        for item in load_after(last):
            last = item["seq"]
            yield sse(item)
        while deadline is None or time.monotonic() < deadline:
            item = inbox.get(timeout=heartbeat if deadline is None else min(heartbeat, max(0.01, deadline - time.monotonic())))
            if item is None:
                yield ": keep-alive\n\n"
                continue
            kind = item.get("type")
            if kind == "message":
                if item["seq"] <= last:
                    continue  # already sent (from the backlog or a resync)
                if item["seq"] == last + 1:
                    last = item["seq"]
                    yield sse(item)
                    continue
                kind = "resync"  # a gap: an earlier message's event is still on its way
            if kind == "resync":
                for missing in load_after(last):
                    last = missing["seq"]
                    yield sse(missing)
                continue
            yield sse(item)
    finally:
        for sub in subs:
            sub.close()


def response(chat_id: int, after: int, heartbeat: float = 15.0):
    """The text/event-stream response of one chat, resuming after message number `after`."""
    from flask import Response

    app = current_app._get_current_object()

    def load_after(seq: int) -> list[dict]:
        from helpdesk.chat.queries import messages_after
        from helpdesk.chat.services import message_event

        with app.app_context():
            try:
                return [message_event(m) for m in messages_after(chat_id, seq)]
            finally:
                db.session.remove()

    # The request's own session is done with: a long stream must not hold a connection.
    db.session.remove()
    body = stream(app, chat_id, after, load_after, heartbeat=heartbeat)
    return Response(body, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def channel_response(channel: str, heartbeat: float = 15.0):
    """A stream of a channel's events as they come (no backlog: a console reloads its lists)."""
    from flask import Response

    b = broker()
    db.session.remove()

    def events() -> Iterator[str]:
        with b.subscribe(channel) as sub:
            yield "retry: 1500\n\n"
            while True:
                item = sub.get(timeout=heartbeat)
                yield ": keep-alive\n\n" if item is None else sse(item)

    return Response(events(), mimetype="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
