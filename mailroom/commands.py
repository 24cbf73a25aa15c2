"""`flask mailroom ...`: ingest, listen, poll, maildir, retry, explain and mailbox setup."""
from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.people.models import Group
from mailroom import services
from mailroom.models import InboundEmail, InboundStatus, Mailbox

cli = AppGroup("mailroom", help="Inbound email: mailboxes, ingesting, listening, polling, retrying.")


def _mailbox(address: str | None) -> Mailbox | None:
    if not address:
        return None
    mailbox = db.session.scalar(select(Mailbox).where(Mailbox.address == address.strip().lower()))
    if mailbox is None:
        raise click.BadParameter(f"no mailbox {address}; create it with `flask mailroom mailbox add`", param_hint="--mailbox")
    return mailbox


@cli.command("ingest")
@click.argument("paths", nargs=-1, required=True)
@click.option("--mailbox", "address", help="File every mail in this mailbox (default: by recipient).")
def ingest_command(paths: tuple[str, ...], address: str | None) -> None:
    """Store mail from files, folders (maildir, mbox, .eml trees) or - (standard input, for an MTA pipe)."""
    from mailroom.fetchers.files import ingest_path

    mailbox = _mailbox(address)
    new = old = 0
    for path in paths:
        if path == "-":
            _, created = services.store_inbound(sys.stdin.buffer.read(), mailbox, "cli")
            new, old = new + created, old + (not created)
            continue
        if not Path(path).exists():
            raise click.BadParameter(f"{path} does not exist", param_hint="PATHS")
        for _, _, created in ingest_path(Path(path), mailbox):
            new, old = new + created, old + (not created)
    counts = _status_counts()
    click.echo(f"stored {new} new mail ({old} already stored); " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def _status_counts() -> dict[str, int]:
    from sqlalchemy import func

    rows = db.session.execute(select(InboundEmail.status, func.count()).group_by(InboundEmail.status)).all()
    return {status.value: n for status, n in sorted(rows, key=lambda r: r[0].value)}


@cli.command("retry")
@click.option("--id", "ids", multiple=True, type=int, help="Only these stored mails.")
@click.option("--queued/--no-queued", default=True, show_default=True, help="Also mail still waiting to be processed.")
def retry_command(ids: tuple[int, ...], queued: bool) -> None:
    """Process failed (and stuck queued) mail again."""
    statuses = [InboundStatus.FAILED] + ([InboundStatus.QUEUED] if queued else [])
    query = select(InboundEmail).where(InboundEmail.status.in_(statuses)).order_by(InboundEmail.id)
    if ids:
        query = query.where(InboundEmail.id.in_(ids))
    rows = list(db.session.scalars(query))
    for inbound in rows:
        services.retry_inbound(inbound)
    db.session.commit()
    click.echo(f"queued {len(rows)} mail again; " + ", ".join(f"{k} {v}" for k, v in _status_counts().items()))


@cli.command("explain")
@click.argument("file", type=click.File("rb"))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--mailbox", "address", help="As if it came to this mailbox.")
def explain_command(file, as_json: bool, address: str | None) -> None:
    """Show what the pipeline would do with a mail, writing nothing."""
    try:
        result = services.explain(file.read(), _mailbox(address))
    finally:
        db.session.rollback()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    h = result["headers"]
    click.echo(f"Mailbox:      {result['mailbox'] or '(none yet)'}")
    for label, key in (("Message-ID", "message_id"), ("From", "from"), ("Subject", "subject"), ("Date", "date")):
        click.echo(f"{label + ':':<14}{h[key] or ''}")
    click.echo(f"{'To:':<14}{', '.join(h['to'])}")
    if h["cc"]:
        click.echo(f"{'Cc:':<14}{', '.join(h['cc'])}")
    if h["in_reply_to"] or h["references"]:
        click.echo(f"{'In-Reply-To:':<14}{' '.join(h['in_reply_to'])}")
        click.echo(f"{'References:':<14}{' '.join(h['references'])}")
    hygiene = result["hygiene"]
    click.echo(f"{'Hygiene:':<14}{hygiene['kind'] + ': ' + hygiene['reason'] if hygiene else 'a person wrote it'}")
    click.echo(f"{'Rule:':<14}{result['rule'] or 'none matched'}")
    thread = result["thread"]
    click.echo(f"{'Thread:':<14}{thread['case'] + ' (' + thread['reason'] + ')' if thread else 'no existing case'}")
    click.echo(f"{'Decision:':<14}{result['decision']}")
    for a in result["attachments"]:
        click.echo(f"{'Attachment:':<14}{a['filename']} ({a['content_type']}, {a['size']} bytes{', inline' if a['inline'] else ''})")
    click.echo("\n" + (result["visible_text"] or "(no text)"))
    if result["quoted_text"]:
        click.echo(f"\n[{len(result['quoted_text'].splitlines())} quoted lines folded]")


@cli.command("listen")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8025, show_default=True, type=int)
@click.option("--lmtp", is_flag=True, help="Speak LMTP instead of SMTP.")
def listen_command(host: str, port: int, lmtp: bool) -> None:
    """Run an SMTP (or LMTP) listener for the MTA; mail for our mailboxes is stored, the rest refused."""
    from mailroom.fetchers.smtp import start_listener

    controller = start_listener(current_app._get_current_object(), host, port, lmtp)
    click.echo(f"listening for {'LMTP' if lmtp else 'SMTP'} on {host}:{port}; Ctrl-C or SIGTERM stops")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@cli.command("poll")
@click.option("--mailbox", "address", help="Only this mailbox.")
def poll_command(address: str | None) -> None:
    """Fetch new mail from the IMAP mailboxes now."""
    from mailroom.fetchers.imap import poll_mailbox
    from mailroom.jobs import poll_mailboxes

    if address:
        stored = poll_mailbox(_mailbox(address).id)
    else:
        stored = poll_mailboxes()
    click.echo(f"stored {stored} new mail")


@cli.command("maildir")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--mailbox", "address", help="File every mail in this mailbox (default: by recipient).")
@click.option("--watch", is_flag=True, help="Keep looking for new mail every few seconds.")
@click.option("--every", default=5.0, show_default=True, help="Seconds between looks with --watch.")
def maildir_command(path: Path, address: str | None, watch: bool, every: float) -> None:
    """Store (and remove) the mail dropped into a maildir's new/ and cur/ folders."""
    from mailroom.fetchers.files import drain_maildir

    while True:
        stored = drain_maildir(path, _mailbox(address))
        if stored or not watch:
            click.echo(f"stored {stored} new mail")
        if not watch:
            return
        time.sleep(every)


mailbox_cli = AppGroup("mailbox", help="Support addresses.")
cli.add_command(mailbox_cli)


@mailbox_cli.command("add")
@click.argument("address")
@click.option("--name", default="")
@click.option("--from-name", default="")
@click.option("--group", "group_name", help="Cases from this mailbox go to this group.")
@click.option("--signature", default="")
@click.option("--auto-reply/--no-auto-reply", default=True, show_default=True)
@click.option("--imap-host")
@click.option("--imap-port", type=int)
@click.option("--imap-security", type=click.Choice(["ssl", "starttls", "none"]), default="ssl", show_default=True)
@click.option("--imap-username")
@click.option("--imap-password")
@click.option("--imap-folder", default="INBOX", show_default=True)
@click.option("--imap-processed-folder", help="Move fetched mail here (default: flag it \\Seen).")
def add_mailbox_command(address, name, from_name, group_name, signature, auto_reply, **imap) -> None:
    """Add a support address."""
    group = None
    if group_name:
        group = db.session.scalar(select(Group).where(Group.name == group_name))
        if group is None:
            raise click.BadParameter(f"no group {group_name}", param_hint="--group")
    try:
        mailbox = services.create_mailbox(None, address=address, name=name, group=group, from_name=from_name,
                                          signature=signature, auto_reply=auto_reply, **imap)
    except ValidationFailed as exc:
        db.session.rollback()
        for field, message in exc.errors.items():
            click.echo(f"{field}: {message}", err=True)
        raise click.exceptions.Exit(1)
    db.session.commit()
    click.echo(f"added {mailbox}")


@mailbox_cli.command("list")
def list_mailboxes_command() -> None:
    for m in db.session.scalars(select(Mailbox).order_by(Mailbox.id)):
        fetch = f"imap {m.imap_host}" if m.imap_host else "push only"
        click.echo(f"{m.id}\t{m.address}\t{m.name}\t{fetch}\t{'auto-reply' if m.auto_reply else 'no auto-reply'}")


@cli.command("rotate-secrets")
@click.option("--print-derived-key", is_flag=True, help="Print the key derived from SECRET_KEY (to keep it before changing SECRET_KEY).")
def rotate_secrets_command(print_derived_key: bool) -> None:
    """Re-encrypt the stored IMAP passwords with the first key of HELPDESK_MAILBOX_KEY."""
    from mailroom.crypto import derived_key

    if print_derived_key:
        click.echo(derived_key(current_app.config["SECRET_KEY"]).decode())
        return
    count = services.rotate_secrets()
    db.session.commit()
    click.echo(f"re-encrypted {count} password(s)")
