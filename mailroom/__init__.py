"""Mailroom: inbound email becomes cases and replies thread back (built by the mailroom issue)."""
from flask import Flask


def init_app(app: Flask) -> None:
    """Wire the mailroom into the app; it has no views or commands yet."""
