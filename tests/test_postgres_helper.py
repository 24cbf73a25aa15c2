"""The private PostgreSQL helper starts a real server and always takes it down again."""

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.postgres import URL_ENV, private_postgres


def _server_facts(url: str) -> dict:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            facts = dict(connection.execute(sa.text(
                "select version() as version, current_database() as database,"
                " current_setting('server_encoding') as encoding,"
                " current_setting('data_directory') as data_directory"
            )).mappings().one())
    finally:
        engine.dispose()
    pid_file = Path(facts["data_directory"]) / "postmaster.pid"
    facts["pid"] = int(pid_file.read_text().split("\n", 1)[0])
    return facts


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # This sandbox's PID 1 may never reap the stopped server: a zombie is gone.
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _accepts_connections(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _assert_gone(facts: dict, port: int) -> None:
    assert not _running(facts["pid"])
    assert not Path(facts["data_directory"]).parent.exists()
    assert not _accepts_connections(port)


@pytest.mark.services
def test_starts_a_real_server_and_stops_it(monkeypatch):
    monkeypatch.delenv(URL_ENV, raising=False)

    with private_postgres() as url:
        facts = _server_facts(url)
        port = sa.make_url(url).port
        assert _running(facts["pid"])

    assert url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert facts["version"].startswith("PostgreSQL ")
    assert facts["database"] == "helpdesk_test"
    assert facts["encoding"] == "UTF8"
    _assert_gone(facts, port)


@pytest.mark.services
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_stops_the_server_when_the_block_fails(monkeypatch, error):
    monkeypatch.delenv(URL_ENV, raising=False)

    with pytest.raises(error):
        with private_postgres() as url:
            facts = _server_facts(url)
            raise error("boom")

    _assert_gone(facts, sa.make_url(url).port)


def test_uses_the_given_url_instead_of_starting_a_server(monkeypatch):
    given = "postgresql+psycopg://someone@db.example:5433/elsewhere"
    monkeypatch.setenv(URL_ENV, given)

    with private_postgres() as url:
        assert url == given
