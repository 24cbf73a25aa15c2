"""Hands a finished message to the SMTP server, or, with none configured, to a file in the outbox folder."""
from __future__ import annotations

import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Mapping
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path


def deliver(app_config: Mapping, msg: EmailMessage) -> dict[str, tuple[int, bytes]]:
    """Send `msg`; return the recipients the server refused while it accepted others.

    Raises when nothing was delivered (connection, login or every recipient refused).
    """
    if app_config.get("SMTP_HOST"):
        return _send_smtp(app_config, msg)
    _write_outbox(Path(app_config["OUTBOX_DIR"]), msg)
    return {}


def _send_smtp(config: Mapping, msg: EmailMessage) -> dict[str, tuple[int, bytes]]:
    host, port, timeout = config["SMTP_HOST"], int(config["SMTP_PORT"]), config["SMTP_TIMEOUT"]
    security = config.get("SMTP_SECURITY") or "none"
    context = ssl.create_default_context()
    if security == "ssl":
        server = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        server = smtplib.SMTP(host, port, timeout=timeout)
    with server:
        if security == "starttls":
            server.starttls(context=context)
        if config.get("SMTP_USERNAME"):
            server.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
        return server.send_message(msg)


def _write_outbox(folder: Path, msg: EmailMessage) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    ident = re.sub(r"[^A-Za-z0-9._-]", "_", (msg["Message-ID"] or "").strip("<> ").split("@")[0])[:80]
    target = folder / f"{stamp}-{ident or 'message'}.eml"
    # Written under a hidden name and renamed, so a reader never sees half a message.
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(msg.as_bytes(policy=msg.policy.clone(linesep="\n")))
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    return target
