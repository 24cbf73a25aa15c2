"""The Redis broker on a real redis-server: delivery to subscribers, and a resync after the
listener's connection is cut (streams then read what they missed from the database)."""
import time

import pytest
from redis import Redis

from helpdesk.chat.transport import RedisBroker, chat_channel
from tests.services import redis_server

pytestmark = pytest.mark.services


def test_events_reach_subscribers_and_a_lost_connection_brings_a_resync(tmp_path):
    with redis_server(tmp_path / "redis") as url:
        broker = RedisBroker(url)
        try:
            sub = broker.subscribe(chat_channel(7))
            other = broker.subscribe(chat_channel(8))
            RedisBroker(url).publish(chat_channel(7), {"type": "message", "seq": 1, "body": "hi"})
            assert sub.get(5) == {"type": "message", "seq": 1, "body": "hi"}
            assert other.get(0.2) is None
            Redis.from_url(url).client_kill_filter(_type="pubsub")
            assert sub.get(10) == {"type": "resync"} and other.get(10) == {"type": "resync"}
            deadline = time.monotonic() + 10
            while True:  # the listener is back: new events flow again
                broker.publish(chat_channel(8), {"type": "typing"})
                if other.get(0.5) == {"type": "typing"} or time.monotonic() > deadline:
                    break
            assert time.monotonic() <= deadline
        finally:
            broker.close()
