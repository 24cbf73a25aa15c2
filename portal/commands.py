"""`flask portal ...`: portal access from the command line."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.people.models import Contact
from helpdesk.people.services import normalize_email
from helpdesk.portal_access import services

cli = AppGroup("portal", help="Customer portal access.")


@cli.command("invite")
@click.argument("email")
@click.option("--role", type=click.Choice(["member", "org_manager"]), default=None,
              help="Portal role (default: keep the contact's, member for a new one).")
def invite_command(email: str, role: str | None) -> None:
    """Email the contact with this address an invitation to the portal; prints the link."""
    contact = db.session.scalar(select(Contact).where(Contact.email == normalize_email(email)).order_by(Contact.id))
    if contact is None:
        raise click.ClickException(f"No contact has the address {email}.")
    try:
        link = services.invite_contact(None, contact, role=role)
    except ValidationFailed as exc:
        raise click.ClickException("; ".join(exc.errors.values())) from None
    db.session.commit()
    click.echo(f"Invited {contact.name} <{contact.email}> as {contact.portal_role}: {link}")
