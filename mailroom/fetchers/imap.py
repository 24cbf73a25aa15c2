"""IMAP polling with imapclient: read with BODY.PEEK, store, then move or flag; UIDVALIDITY respected."""
from __future__ import annotations

import ssl

from imapclient import IMAPClient

from helpdesk.extensions import db
from mailroom.models import Mailbox
from mailroom.services import Intake, imap_password

BATCH = 50
SEEN = b"\\Seen"


def connect(mailbox: Mailbox) -> IMAPClient:
    security = mailbox.imap_security or "ssl"
    port = mailbox.imap_port or (993 if security == "ssl" else 143)
    context = ssl.create_default_context()
    client = IMAPClient(mailbox.imap_host, port=port, ssl=security == "ssl", ssl_context=context, timeout=60)
    if security == "starttls":
        client.starttls(context)
    client.login(mailbox.imap_username or mailbox.address, imap_password(mailbox) or "")
    return client


def poll_mailbox(mailbox_id: int) -> int:
    """Store every new mail of one mailbox's folder; return how many were new.

    Each mail is committed before it is moved or flagged on the server, so a crash in between
    fetches it again next time, and the Message-ID makes that second copy a no-op.
    """
    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is None or not mailbox.imap_host:
        return 0
    stored = 0
    with connect(mailbox) as client, Intake() as intake:
        info = client.select_folder(mailbox.imap_folder or "INBOX")
        validity = int(info.get(b"UIDVALIDITY", 0))
        if mailbox.imap_uidvalidity != validity:
            # New UIDs for everything: start over; stored mail is recognised by its Message-ID.
            mailbox.imap_uidvalidity, mailbox.imap_last_uid = validity, 0
            db.session.commit()
        if mailbox.imap_processed_folder:
            uids = client.search(["ALL"])
            if not client.folder_exists(mailbox.imap_processed_folder):
                client.create_folder(mailbox.imap_processed_folder)
        else:
            uids = client.search(["UID", f"{mailbox.imap_last_uid + 1}:*"]) if mailbox.imap_last_uid else client.search(["ALL"])
            uids = [u for u in uids if u > mailbox.imap_last_uid]
        for start in range(0, len(uids), BATCH):
            chunk = sorted(uids[start:start + BATCH])
            fetched = client.fetch(chunk, ["BODY.PEEK[]"])
            done = []
            for uid in chunk:
                data = fetched.get(uid, {})
                raw = data.get(b"BODY[]")
                if raw is None:
                    continue
                _, created = intake.store(raw, mailbox, "imap")
                stored += created
                done.append(uid)
            if not done:
                continue
            if mailbox.imap_processed_folder:
                client.move(done, mailbox.imap_processed_folder)
            else:
                client.add_flags(done, [SEEN])
                mailbox = db.session.get(Mailbox, mailbox_id)
                mailbox.imap_last_uid = max(done)
                db.session.commit()
        db.session.commit()  # reading the mailbox again began a transaction; the last batch waits for its end
    return stored
