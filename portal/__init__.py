"""Customer portal: the self-service cabinet and help center (built by the portal issue)."""
from flask import Flask


def init_app(app: Flask) -> None:
    """Wire the portal into the app; it has no views yet."""
