"""Mail from files: single .eml files, folders of them, mbox files, maildirs and standard input."""
from __future__ import annotations

import mailbox as mailbox_lib
import os
from collections.abc import Iterator
from pathlib import Path

from mailroom.models import InboundEmail, Mailbox
from mailroom.services import Intake


def messages_in(path: Path) -> Iterator[tuple[str, bytes]]:
    """(label, raw bytes) of every mail under a path: a file, an mbox, a maildir or a folder tree."""
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            for sub in ("new", "cur"):
                for item in sorted((path / sub).iterdir()):
                    if item.is_file():
                        yield str(item), item.read_bytes()
            return
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                if not name.startswith("."):
                    yield from messages_in(Path(root) / name)
        return
    data = path.read_bytes()
    yield from split_mbox(str(path), data)


def split_mbox(label: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    """An mbox holds several mails, each after a "From " line; anything else is one mail."""
    if not data.startswith(b"From "):  # a header is "From:", an mbox envelope line "From "
        yield label, data
        return
    if b"\nFrom " not in data or label.lower().endswith((".eml", ".txt", ".msg")):
        # One mail after an envelope line; a "From " further down is inside its text.
        yield label, data.partition(b"\n")[2]
        return
    box = mailbox_lib.mbox(label, create=False)
    try:
        for key in box.iterkeys():
            yield f"{label}#{key}", box.get_bytes(key)
    finally:
        box.close()


def ingest_path(path: Path, mailbox: Mailbox | None, channel: str = "cli") -> Iterator[tuple[str, InboundEmail, bool]]:
    """Store every mail under a path, each committed; they are processed in batches as they come."""
    with Intake() as intake:
        for label, raw in messages_in(path):
            inbound, created = intake.store(raw, mailbox, channel)
            yield label, inbound, created


def drain_maildir(path: Path, mailbox: Mailbox | None) -> int:
    """Store every mail in a maildir's new/ and cur/, removing each file once it is committed."""
    stored = 0
    with Intake() as intake:
        for sub in ("new", "cur"):
            folder = path / sub
            if not folder.is_dir():
                continue
            for item in sorted(folder.iterdir()):
                if not item.is_file() or item.name.startswith("."):
                    continue
                _, created = intake.store(item.read_bytes(), mailbox, "maildir")
                stored += created
                item.unlink()  # only after the commit: a crash before it means the mail is stored twice, once
    return stored
