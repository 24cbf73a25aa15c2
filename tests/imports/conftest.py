"""Import fixtures: a manager who may import, and a helper that runs a file through every step."""
from __future__ import annotations

import io

import pytest

from helpdesk.extensions import db
from helpdesk.imports import services
from helpdesk.imports.models import ImportRun


@pytest.fixture
def manager(make_user):
    return make_user("manager", name="Mona Manager")


@pytest.fixture
def run_file(app, manager):
    """Upload, map (guessed, with overrides), run as the job would, and return the finished run."""

    def run(kind: str, data: bytes | str, *, filename: str = "data.csv", mapping: dict | None = None,
            all_or_nothing: bool = False, encoding: str | None = None) -> ImportRun:
        if isinstance(data, str):
            data = data.encode("utf-8")
        imp = services.start_import(manager, kind=kind, filename=filename, stream=io.BytesIO(data))
        chosen = {k: "" if v is None else str(v) for k, v in imp.mapping.items()}
        chosen.update({k: "" if v is None else str(v) for k, v in (mapping or {}).items()})
        services.set_mapping(manager, imp, mapping=chosen, encoding=encoding, all_or_nothing=all_or_nothing)
        services.queue_import(manager, imp)
        db.session.commit()  # the job runs after the commit, in-process (no Redis in tests)
        db.session.expire_all()
        return db.session.get(ImportRun, imp.id)

    return run


def errors_by_line(run: ImportRun) -> dict[int, str]:
    return {e["line"]: e["reason"] for e in run.errors}
