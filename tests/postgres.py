"""A private, throwaway PostgreSQL server on a free loopback port for the test suite."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

URL_ENV = "HELPDESK_TEST_POSTGRES_URL"
DATABASE = "helpdesk_test"
_DIR_PREFIX = "helpdesk-pg-"
_START_ATTEMPTS = 3


class PostgresUnavailable(RuntimeError):
    """The server binaries are missing or the server would not start."""


@contextlib.contextmanager
def private_postgres() -> Iterator[str]:
    """Yield a SQLAlchemy URL to a fresh database on a server of our own.

    The server and its files are gone when the block is left, whatever ends it.
    With HELPDESK_TEST_POSTGRES_URL set, that URL is yielded and nothing starts.
    """
    url = os.environ.get(URL_ENV)
    if url:
        yield url
        return

    bindir = _find_bindir()
    _remove_orphans(bindir)
    workdir = Path(tempfile.mkdtemp(prefix=_DIR_PREFIX))
    # Lets a later run recognise and remove what a killed run left behind.
    (workdir / "owner.pid").write_text(str(os.getpid()))
    datadir = workdir / "data"
    with _sigterm_as_keyboard_interrupt():
        try:
            if os.geteuid() == 0:
                # initdb and postgres refuse to run as root.
                shutil.chown(workdir, "postgres", "postgres")
            _run(bindir, "initdb", "-D", datadir, "-A", "trust", "-U", "postgres",
                 "--no-sync", "-E", "UTF8", "--locale=C.UTF-8", cwd=workdir)
            port = _start(bindir, workdir, datadir)
            _create_database(port)
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{DATABASE}"
        finally:
            _stop(bindir, datadir)
            shutil.rmtree(workdir, ignore_errors=True)


def _find_bindir() -> Path:
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        raise PostgresUnavailable(
            "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: run scripts/test "
            f"(it installs Debian's postgresql) or set {URL_ENV} to a database of yours"
        )
    def version(path: str) -> tuple[int, ...]:
        return tuple(int(part) for part in Path(path).parts[4].split(".") if part.isdigit())

    return Path(max(found, key=version)).parent


def _command(bindir: Path, program: str, *args: object) -> list[str]:
    command = [str(bindir / program), *map(str, args)]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return command


def _run(bindir: Path, program: str, *args: object, cwd: Path, check: bool = True):
    # PG* variables from the caller's shell must not steer our private server.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    result = subprocess.run(_command(bindir, program, *args), cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise PostgresUnavailable(
            f"{program} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return result


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(bindir: Path, workdir: Path, datadir: Path) -> int:
    log = workdir / "postgres.log"
    for _ in range(_START_ATTEMPTS):
        port = _free_port()
        # HELPDESK_PG_EXTRA_OPTIONS adds server settings for a benchmark's investigation, e.g.
        # " -c logging_collector=on -c log_directory=/tmp/pglog -c log_min_duration_statement=100".
        options = (f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off" + os.environ.get("HELPDESK_PG_EXTRA_OPTIONS", ""))
        result = _run(bindir, "pg_ctl", "-D", datadir, "-l", log, "-w", "-o", options, "start",
                      cwd=workdir, check=False)
        if result.returncode == 0:
            return port
        log_text = log.read_text(errors="replace") if log.exists() else ""
        # Another process may have taken the port since we picked it: try another.
        if "could not bind" not in log_text and "already in use" not in log_text:
            break
    raise PostgresUnavailable(
        f"pg_ctl start failed ({result.returncode}):\n{result.stdout}{result.stderr}\n"
        f"--- {log} ---\n{log_text[-4000:]}"
    )


def _create_database(port: int) -> None:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                         autocommit=True, connect_timeout=10) as connection:
        connection.execute(f"CREATE DATABASE {DATABASE}")


def _stop(bindir: Path, datadir: Path) -> None:
    pid = _postmaster_pid(datadir)
    if pid is None:
        return
    _run(bindir, "pg_ctl", "-D", datadir, "-m", "immediate", "-w", "stop",
         cwd=datadir.parent, check=False)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _postmaster_pid(datadir: Path) -> int | None:
    try:
        return int((datadir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Whether the process runs; a zombie counts as gone (PID 1 here may never reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _remove_orphans(bindir: Path) -> None:
    """Stop and delete servers whose test run was killed before it could clean up."""
    for path in Path(tempfile.gettempdir()).glob(_DIR_PREFIX + "*"):
        try:
            owner = int((path / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if owner != os.getpid() and not _alive(owner):
            _stop(bindir, path / "data")
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _sigterm_as_keyboard_interrupt() -> Iterator[None]:
    """Let a SIGTERM (a CI time-out, say) unwind through our cleanup instead of killing us."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is interrupt:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
