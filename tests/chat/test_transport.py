"""Delivery: committed first then published; streams resume after the last id, no loss, no doubles."""
import json

from helpdesk.chat import services, transport
from helpdesk.chat.transport import LocalBroker, chat_channel, parse_after, sse, stream
from helpdesk.extensions import db


def _events(chunks):
    """Parse text/event-stream chunks into (id, event, data) triples, skipping comments."""
    out = []
    for chunk in chunks:
        fields = {}
        for line in chunk.strip().splitlines():
            if line.startswith(":") or not line:
                continue
            key, _, value = line.partition(": ")
            fields[key] = value
        if "data" in fields:
            out.append((fields.get("id"), fields.get("event"), json.loads(fields["data"])))
    return out


def _take(gen, n):
    got = []
    while len([e for e in _events(got)]) < n:
        got.append(next(gen))
    return _events(got)


def test_an_event_is_published_only_after_the_commit_and_never_after_a_rollback(app, make_topic, start):
    chat = start(make_topic())
    db.session.commit()
    sub = transport.broker(app).subscribe(chat_channel(chat.id))
    try:
        services.send_visitor_message(chat, "first")
        assert sub.get(timeout=0.05) is None  # not committed yet
        db.session.commit()
        assert sub.get(timeout=1)["body"] == "first"
        services.send_visitor_message(chat, "never")
        db.session.rollback()
        assert sub.get(timeout=0.05) is None
    finally:
        sub.close()


def test_stream_sends_the_backlog_after_the_last_id_then_live_messages_once(app, make_topic, start):
    chat = start(make_topic(), message="one")
    for text in ("two", "three"):
        services.send_visitor_message(chat, text)
    db.session.commit()
    load = lambda after: [services.message_event(m) for m in __import__("helpdesk.chat.queries", fromlist=["x"]).messages_after(chat.id, after)]
    gen = stream(app, chat.id, 1, load, heartbeat=0.05)
    backlog = _take(gen, 2)
    assert [(i, d["body"]) for i, _, d in backlog] == [("2", "two"), ("3", "three")]
    services.send_visitor_message(chat, "four")
    db.session.commit()
    live = _take(gen, 1)
    assert [(i, d["body"]) for i, _, d in live] == [("4", "four")]
    # The same event published again (a second delivery path) is not sent twice.
    transport.broker(app).publish(chat_channel(chat.id), live[0][2])
    services.send_visitor_message(chat, "five")
    db.session.commit()
    assert [(i, d["body"]) for i, _, d in _take(gen, 1)] == [("5", "five")]
    gen.close()


def test_a_gap_in_live_events_is_filled_from_the_database(app, make_topic, start):
    chat = start(make_topic(), message="one")
    db.session.commit()
    from helpdesk.chat.queries import messages_after

    gen = stream(app, chat.id, 1, lambda after: [services.message_event(m) for m in messages_after(chat.id, after)],
                 heartbeat=0.05)
    next(gen)  # retry hint
    # Message 2 is committed but its event is lost (say Redis dropped it); 3's event arrives.
    b = transport.broker(app)
    publish = b.publish
    b.publish = lambda channel, event: None if event.get("seq") == 2 else publish(channel, event)
    try:
        services.send_visitor_message(chat, "two")
        db.session.commit()
    finally:
        del b.publish
    services.send_visitor_message(chat, "three")
    db.session.commit()
    got = []
    while len(_events(got)) < 2:
        got.append(next(gen))
    assert [d["body"] for _, _, d in _events(got)] == ["two", "three"]
    gen.close()
    assert not b._subscribers.get(chat_channel(chat.id))  # closing the stream unsubscribes


def test_typing_events_carry_no_id_so_resuming_is_unaffected(app):
    assert sse({"type": "typing", "who": "agent"}).startswith("event: typing")
    assert sse({"type": "message", "seq": 7, "body": "x"}).startswith("id: 7\n")
    assert parse_after("12", "3") == 12 and parse_after(None, "3") == 3 and parse_after("x", None) == 0


def test_reconnecting_client_gets_everything_after_last_event_id(app, client, login, make_topic, make_agent, start,
                                                                  make_group):
    group = make_group()
    agent = make_agent(group=group)
    chat = start(make_topic(group=group), message="one")
    services.accept_chat(agent, chat)  # 2: joined
    services.send_agent_message(agent, chat, "three")
    db.session.commit()
    login(agent)
    response = client.get(f"/chat/{chat.id}/events", headers={"Last-Event-ID": "1"}, buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    body = iter(response.response)
    first = _take((c.decode() if isinstance(c, bytes) else c for c in body), 2)
    assert [i for i, _, _ in first] == ["2", "3"]
    assert first[1][2]["body"] == "three" and first[1][2]["author"] == agent.name
    response.close()


def test_local_broker_delivers_to_every_subscriber_of_a_channel():
    b = LocalBroker()
    one, two, other = b.subscribe("c"), b.subscribe("c"), b.subscribe("d")
    b.publish("c", {"type": "x"})
    assert one.get(0.1) == two.get(0.1) == {"type": "x"} and other.get(0.01) is None
    one.close()
    b.publish("c", {"type": "y"})
    assert one.get(0.01) is None and two.get(0.1) == {"type": "y"}
