"""Chat delivery under load: N concurrent chats, each with a live event stream, messages sent
through the web app; prints p50/p95/p99 from send to receive.

    .venv/bin/python bench/chat.py [--chats 200] [--messages 5] [--rate 50] [--redis] [--processes 2]
                                   [--db sqlite|postgresql]

By default each of the 200 chats writes a message every 4 s on average (50 messages a
second in all: brisk typing on every chat at once).

The web app runs as real server processes (`flask run --with-threads`, on a SQLite file in a
temporary folder, or a private PostgreSQL with --db postgresql). Without --redis there is one process and delivery is in-process; with
--redis a private redis-server is started and the chats' streams and sends are spread over
--processes servers, so most deliveries cross processes through Redis pub/sub.

A message is timed from just before its POST (which commits it, then publishes it) to the
moment its event is read from the chat's stream by this process. Every chat's stream must
receive every message exactly once, in order; the run fails otherwise. Target: p95 <= 100 ms.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_P95_MS = 100.0


def seed(database_url: str, chats: int, tmp: Path) -> list[str]:
    """A topic answered by one agent with room for every chat; `chats` started chats. Their tokens."""
    from helpdesk import create_app
    from helpdesk.chat import services
    from helpdesk.chat.models import ChatTopic
    from helpdesk.extensions import db
    from helpdesk.people.services import create_user

    app = create_app({"ENV": "testing", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": database_url,
                      "INSTANCE_PATH": str(tmp / "seed"), "EDGE_PACKAGES": [], "REDIS_URL": None,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        db.create_all()
        agent = create_user(None, email="bench-agent@staff.example", name="Bench Agent", password="bench-password-1")
        topic = ChatTopic(name="Bench")
        db.session.add(topic)
        db.session.flush()
        services.set_availability(agent, "online", 20)
        tokens = []
        for i in range(chats):
            chat = services.start_chat(None, name=f"Visitor {i}", email=f"visitor{i}@bench.example", topic=topic,
                                       message="hello")
            tokens.append(chat.token)
        db.session.commit()
    return tokens


def start_server(tmp: Path, name: str, env: dict) -> tuple[subprocess.Popen, str]:
    from tests.services import _wait_for_port, free_port

    port = free_port()
    log = open(tmp / f"{name}.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port), "--no-reload", "--no-debugger",
         "--with-threads"],
        cwd=ROOT, env={**os.environ, **env, "HELPDESK_INSTANCE_PATH": str(tmp / name)}, stdout=log, stderr=subprocess.STDOUT)
    _wait_for_port(port, process, timeout=60)
    return process, f"127.0.0.1:{port}"


class Reader(threading.Thread):
    """One chat's event stream: records when each message body arrives."""

    def __init__(self, host: str, path: str, after: int, received: dict, ready: threading.Barrier, errors: list):
        super().__init__(daemon=True)
        self.host, self.path, self.after = host, path, after
        self.received, self.ready, self.errors = received, ready, errors
        self.seqs: list[int] = []
        self.stop = threading.Event()

    def run(self):
        conn = http.client.HTTPConnection(self.host, timeout=60)
        try:
            conn.request("GET", f"{self.path}?after={self.after}", headers={"Accept": "text/event-stream"})
            response = conn.getresponse()
            if response.status != 200:
                raise RuntimeError(f"stream answered {response.status}")
            first = True
            data = None
            while not self.stop.is_set():
                line = response.fp.readline()
                if not line:
                    break
                line = line.decode().rstrip("\n")
                if first:
                    first = False
                    self.ready.wait()
                if line.startswith("data: "):
                    data = line[6:]
                elif line == "" and data is not None:
                    event = json.loads(data)
                    data = None
                    if event.get("type") == "message":
                        self.received[event["body"]] = time.perf_counter()
                        self.seqs.append(event["seq"])
        except Exception as exc:  # reported at the end
            if not self.stop.is_set():
                self.errors.append(repr(exc))
        finally:
            conn.close()


def sender(jobs: queue.Queue, sent: dict, errors: list):
    conns: dict[str, http.client.HTTPConnection] = {}
    while True:
        item = jobs.get()
        if item is None:
            break
        due, host, path, body = item
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        conn = conns.get(host) or http.client.HTTPConnection(host, timeout=30)
        conns[host] = conn
        payload = f"body={body}"
        sent[body] = time.perf_counter()
        try:
            conn.request("POST", path, body=payload, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                              "HX-Request": "true"})
            response = conn.getresponse()
            response.read()
            if response.status != 204:
                errors.append(f"send answered {response.status}")
        except Exception as exc:
            errors.append(repr(exc))
            conns.pop(host, None)
    for conn in conns.values():
        conn.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5, help="messages per chat")
    parser.add_argument("--rate", type=float, default=50.0, help="messages per second over all chats")
    parser.add_argument("--senders", type=int, default=16, help="threads posting messages")
    parser.add_argument("--redis", action="store_true", help="a private Redis and several server processes")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite",
                        help="postgresql starts a private server (tests/postgres.py)")
    args = parser.parse_args()

    from tests.services import redis_server, stop_process

    import contextlib

    from tests.postgres import private_postgres

    with tempfile.TemporaryDirectory(prefix="chat-bench-") as folder, \
            (private_postgres() if args.db == "postgresql" else contextlib.nullcontext(None)) as pg_url:
        tmp = Path(folder)
        database = pg_url or f"sqlite:///{tmp / 'chat.db'}"
        tokens = seed(database, args.chats, tmp)

        with (redis_server(tmp / "redis") if args.redis else contextlib.nullcontext(None)) as redis_url:
            env = {"HELPDESK_ENV": "testing", "HELPDESK_SECRET_KEY": "bench", "HELPDESK_DATABASE_URL": database,
                   "HELPDESK_EDGE_PACKAGES": "portal,knowledge_base", "HELPDESK_REDIS_URL": redis_url or "",
                   "HELPDESK_SEARCH_INDEX_DIR": str(tmp / "index"), "HELPDESK_OUTBOX_DIR": str(tmp / "outbox")}
            servers = []
            try:
                for i in range(args.processes if args.redis else 1):
                    servers.append(start_server(tmp, f"web{i}", env))
                hosts = [h for _, h in servers]
                received: dict[str, float] = {}
                sent: dict[str, float] = {}
                errors: list[str] = []
                ready = threading.Barrier(args.chats + 1)
                readers = []
                for i, token in enumerate(tokens):
                    # With several processes a chat is read on one and written on another.
                    host = hosts[i % len(hosts)]
                    reader = Reader(host, f"/chat/widget/c/{token}/events", 1, received, ready, errors)
                    reader.start()
                    readers.append(reader)
                ready.wait(timeout=120)
                time.sleep(0.5)
                jobs: queue.Queue = queue.Queue()
                start = time.perf_counter() + 0.2
                total = args.chats * args.messages
                order = [(c, m) for m in range(args.messages) for c in range(args.chats)]
                random.Random(7).shuffle(order)
                for n, (c, m) in enumerate(order):
                    host = hosts[(c + 1) % len(hosts)]
                    jobs.put((start + n / args.rate, host, f"/chat/widget/c/{tokens[c]}/send", f"c{c}m{m}"))
                threads = [threading.Thread(target=sender, args=(jobs, sent, errors), daemon=True) for _ in range(args.senders)]
                for t in threads:
                    jobs.put(None)
                    t.start()
                for t in threads:
                    t.join()
                deadline = time.perf_counter() + 30
                while len(received) < total and time.perf_counter() < deadline:
                    time.sleep(0.05)
                elapsed = time.perf_counter() - start
                for reader in readers:
                    reader.stop.set()
            finally:
                for process, _ in servers:
                    stop_process(process)
                if errors:
                    for log in sorted(tmp.glob("web*.log")):
                        lines = log.read_text(errors="replace").splitlines()
                        last = max((i for i, line in enumerate(lines) if "Error" in line), default=None)
                        print(f"--- {log.name}:\n" + ("\n".join(lines[max(0, last - 40):last + 1]) if last is not None
                                                        else "no errors logged"))
        latencies = [(received[b] - sent[b]) * 1000 for b in sent if b in received]
        missing = total - len(latencies)
        doubled = sum(len(r.seqs) - len(set(r.seqs)) for r in readers)
        out_of_order = sum(1 for r in readers if r.seqs != sorted(r.seqs))
        mode = (f"redis, {len(hosts)} processes" if args.redis else "in-process, 1 process") + f", {args.db}"
        print(f"chat delivery ({mode}): {args.chats} chats, {total} messages at {args.rate:.0f}/s in {elapsed:.1f} s")
        if latencies:
            print(f"  send -> receive  p50 {percentile(latencies, 50):.1f} ms  p95 {percentile(latencies, 95):.1f} ms  "
                  f"p99 {percentile(latencies, 99):.1f} ms  max {max(latencies):.1f} ms")
        print(f"  missing {missing}, doubled {doubled}, out of order {out_of_order}, errors {len(errors)}"
              + (f" (first: {errors[0]})" if errors else ""))
        ok = latencies and not missing and not doubled and not out_of_order and percentile(latencies, 95) <= TARGET_P95_MS
        print(f"  target p95 <= {TARGET_P95_MS:.0f} ms: {'met' if ok else 'NOT met'}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
