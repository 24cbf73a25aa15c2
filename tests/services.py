"""Real services for tests: a private redis-server and an SMTP listener, each on a free loopback port."""
from __future__ import annotations

import contextlib
import email
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

REDIS_SERVER = os.environ.get("HELPDESK_TEST_REDIS_SERVER", "/usr/bin/redis-server")


def free_port() -> int:
    """A port nothing listens on right now (the kernel's choice for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """Ask a process to end, then make it; always reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {timeout} s")


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """Yield the URL of a fresh redis-server that keeps nothing on disk; it is gone afterwards."""
    if not shutil.which(REDIS_SERVER):
        raise RuntimeError(f"{REDIS_SERVER} is missing (apt-get install redis-server)")
    workdir.mkdir(parents=True, exist_ok=True)
    for _ in range(3):  # another process may take the port between our look and the bind
        port = free_port()
        process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir), "--logfile", str(workdir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_port(port, process)
        except RuntimeError:
            stop_process(process)
            continue
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            stop_process(process)
        return
    raise RuntimeError("redis-server would not start; see redis.log in " + str(workdir))


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class SMTPListener:
    host: str
    port: int
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.content
        self.received.append(Received(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            message=email.message_from_bytes(raw, policy=policy.default),
            raw=raw,
        ))
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_server(credentials: tuple[str, str] | None = None) -> Iterator[SMTPListener]:
    """Yield an aiosmtpd listener on a free loopback port that records every message it accepts.

    With `credentials` (user, password) the listener requires AUTH (over plain text: tests only).
    """
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def authenticate(server, session, envelope, mechanism, auth_data):
        given = (auth_data.login.decode(), auth_data.password.decode())
        # handled=False: the server itself answers a failure with 535.
        return AuthResult(success=given == credentials, handled=False)

    auth = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False} if credentials else {}
    # Controller(port=0) cannot work: it checks readiness by connecting to the port it was given.
    listener = SMTPListener("127.0.0.1", free_port())
    controller = Controller(listener, hostname=listener.host, port=listener.port, **auth)
    controller.start()
    try:
        yield listener
    finally:
        controller.stop()
