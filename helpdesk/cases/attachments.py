"""The attachment store: file content kept once on disk under its SHA-256."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

import filetype

from helpdesk.cases.models import Blob
from helpdesk.errors import TooLarge, ValidationFailed
from helpdesk.extensions import db

_CHUNK = 64 * 1024


def blob_path(root: str, sha256: str) -> Path:
    return Path(root) / sha256[:2] / sha256[2:4] / sha256


def sniff_type(head: bytes) -> str:
    """The content type judged from the bytes themselves, never from the name."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is still text.
        if exc.start < len(head) - 4:
            return "application/octet-stream"
    return "text/plain"


def store_blob(root: str, stream: BinaryIO, max_bytes: int, field: str = "attachments") -> Blob:
    """Copy a stream into the store (once per content) and return its Blob row."""
    Path(root).mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as tmp:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"A file may be at most {max_bytes // (1024 * 1024)} MB.", field=field)
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                digest.update(chunk)
                tmp.write(chunk)
        sha = digest.hexdigest()
        target = blob_path(root, sha)
        if target.exists():
            os.unlink(tmp_name)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, target)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    blob = db.session.get(Blob, sha)
    if blob is None:
        blob = Blob(sha256=sha, size=size, content_type=sniff_type(head))
        db.session.add(blob)
    return blob


def clean_filename(name: str | None) -> str:
    name = os.path.basename((name or "").replace("\\", "/")).strip().replace("\x00", "")
    if not name:
        raise ValidationFailed({"attachments": "A file has no name."})
    return name[:255]
