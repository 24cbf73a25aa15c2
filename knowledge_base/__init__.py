"""Knowledge base: articles, FAQ and search (built by the knowledge-base issue)."""
from flask import Flask


def init_app(app: Flask) -> None:
    """Wire the knowledge base into the app; it has no views or commands yet."""
