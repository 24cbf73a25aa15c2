"""Two real web processes share one Redis: a message sent through one reaches a stream held by
the other, and a stream resumed on either one gets exactly what it missed."""
from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from helpdesk.extensions import db
from tests.services import _wait_for_port, free_port, redis_server, stop_process

pytestmark = pytest.mark.services
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"


class Stream:
    """An SSE connection read by a thread: events land in a queue as (id, event, data)."""

    def __init__(self, url: str, session: requests.Session | None = None, last_id: str | None = None):
        headers = {"Accept": "text/event-stream", **({"Last-Event-ID": last_id} if last_id else {})}
        self.response = (session or requests).get(url, headers=headers, stream=True, timeout=(5, 30))
        assert self.response.status_code == 200, self.response.text[:300]
        self.events: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        fields = {}
        try:
            for raw in self.response.iter_lines(decode_unicode=True):
                if raw:
                    if not raw.startswith(":"):
                        key, _, value = raw.partition(": ")
                        fields[key] = value
                    continue
                if "data" in fields:
                    self.events.put((fields.get("id"), fields.get("event"), json.loads(fields["data"])))
                fields = {}
        except Exception:
            pass

    def messages(self, count: int, timeout: float = 15) -> list[tuple[str, dict]]:
        got = []
        while len(got) < count:
            ident, kind, data = self.events.get(timeout=timeout)
            if kind == "message":
                got.append((ident, data))
        return got

    def close(self):
        self.response.close()


def _server(tmp: Path, name: str, env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(tmp / f"{name}.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port), "--no-reload", "--no-debugger",
         "--with-threads"],
        cwd=ROOT, env={**os.environ, **env, "HELPDESK_INSTANCE_PATH": str(tmp / name)}, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, timeout=30)
    except RuntimeError:
        stop_process(process)
        raise
    return process, f"http://127.0.0.1:{port}"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def test_two_web_processes_deliver_through_redis(tmp_path, make_app):
    with redis_server(tmp_path / "redis") as redis_url:
        app = make_app(REDIS_URL=redis_url, EDGE_PACKAGES=["knowledge_base", "portal"])
        database = app.config["SQLALCHEMY_DATABASE_URI"]
        with app.app_context():
            from helpdesk.chat import services
            from helpdesk.chat.models import ChatTopic
            from helpdesk.people.services import create_group, create_user

            group = create_group(None, name="Support")
            agent = create_user(None, email="agent@staff.example", name="Alma Agent", password=PASSWORD, role="agent")
            agent.groups.append(group)
            db.session.add(ChatTopic(name="Orders", group=group))
            db.session.flush()
            services.set_availability(agent, "online", 3)
            db.session.commit()
        env = {"HELPDESK_ENV": "testing", "HELPDESK_SECRET_KEY": "two-process-secret", "HELPDESK_DATABASE_URL": database,
               "HELPDESK_REDIS_URL": redis_url, "HELPDESK_EDGE_PACKAGES": "knowledge_base,portal",
               "HELPDESK_ATTACHMENT_DIR": str(tmp_path / "attachments"), "HELPDESK_OUTBOX_DIR": str(tmp_path / "outbox"),
               "HELPDESK_SEARCH_INDEX_DIR": str(tmp_path / "index")}
        a, url_a = _server(tmp_path, "a", env)
        b, url_b = None, None
        streams = []
        try:
            b, url_b = _server(tmp_path, "b", env)
            # The visitor starts on A and listens on B.
            visitor = requests.Session()
            page = visitor.get(f"{url_a}/chat/widget").text
            ticket = re.search(r'name="ticket" value="([^"]+)"', page).group(1)
            start = visitor.post(f"{url_a}/chat/widget/start", allow_redirects=False, data={
                "ticket": ticket, "name": "Vic Visitor", "email": "vic@visitor.example", "message": "Where is my order?"})
            assert start.status_code == 302, start.text[:500]
            chat_path = start.headers["Location"].replace("http://localhost", "")
            chat_path = chat_path[chat_path.index("/chat/"):]
            visitor_stream = Stream(f"{url_b}{chat_path}/events")
            streams.append(visitor_stream)
            assert [d["body"] for _, d in visitor_stream.messages(1)] == ["Where is my order?"]

            # The agent works on A, with a console stream on B too.
            staff = requests.Session()
            login_page = staff.get(f"{url_a}/login").text
            token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', login_page)
            token = token.group(1) if token else _csrf(login_page)
            assert staff.post(f"{url_a}/login", data={"email": "agent@staff.example", "password": PASSWORD,
                                                      "csrf_token": token}, allow_redirects=False).status_code == 302
            console = staff.get(f"{url_a}/chat").text
            chat_id = re.search(r'data-stream-url="/chat/(\d+)/events"', console).group(1)
            agent_stream = Stream(f"{url_b}/chat/{chat_id}/events", session=staff, last_id="1")
            streams.append(agent_stream)
            headers = {"X-CSRFToken": _csrf(console), "HX-Request": "true"}
            assert staff.post(f"{url_a}/chat/{chat_id}/accept", headers=headers).status_code == 200
            assert staff.post(f"{url_a}/chat/{chat_id}/send", data={"body": "Let me look"}, headers=headers).status_code == 204
            got = visitor_stream.messages(2)
            assert [(i, d["body"]) for i, d in got] == [("2", "Alma Agent joined the chat."), ("3", "Let me look")]
            assert [i for i, _ in agent_stream.messages(2)] == ["2", "3"]

            # The visitor answers through B; the agent's stream (also on B) and a new one on A see it.
            assert visitor.post(f"{url_b}{chat_path}/send", data={"body": "Order 42"},
                                headers={"HX-Request": "true"}).status_code == 204
            assert [d["body"] for _, d in agent_stream.messages(1)] == ["Order 42"]

            # The visitor's connection drops; two messages go out meanwhile; resuming on A gets both once.
            visitor_stream.close()
            for text in ("Found it", "It ships today"):
                staff.post(f"{url_a}/chat/{chat_id}/send", data={"body": text}, headers=headers)
            resumed = Stream(f"{url_a}{chat_path}/events", last_id="4")
            streams.append(resumed)
            assert [(i, d["body"]) for i, d in resumed.messages(2)] == [("5", "Found it"), ("6", "It ships today")]
            staff.post(f"{url_a}/chat/{chat_id}/send", data={"body": "Bye"}, headers=headers)
            assert [(i, d["body"]) for i, d in resumed.messages(1)] == [("7", "Bye")]
            with pytest.raises(queue.Empty):
                resumed.messages(1, timeout=1)  # nothing doubled
        finally:
            for s in streams:
                s.close()
            for process in (a, b):
                if process is not None:
                    stop_process(process)
