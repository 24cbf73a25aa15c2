"""Knowledge base: articles, FAQ, categories, translations and the Whoosh search."""
from flask import Flask


def init_app(app: Flask) -> None:
    """Register the knowledge base's tables, jobs, views and `flask kb` commands."""
    import os
    from pathlib import Path

    from knowledge_base import jobs, models  # noqa: F401  (tables and periodic jobs register on import)
    from knowledge_base.commands import cli
    from knowledge_base.views import bp

    app.config.setdefault("KB_SEARCH_INDEX_DIR", os.environ.get("HELPDESK_SEARCH_INDEX_DIR")
                          or str(Path(app.instance_path) / "search-index"))
    app.config.setdefault("KB_DEFAULT_LANGUAGE", os.environ.get("HELPDESK_KB_DEFAULT_LANGUAGE") or "en")
    app.extensions["knowledge_base"] = True
    from knowledge_base import insights

    insights.init_app(app)  # its searches on the self-service insights dashboard
    from knowledge_base.demo import seed_demo

    app.extensions.setdefault("demo_seeders", []).append(seed_demo)  # called by `flask demo seed`
    app.register_blueprint(bp)
    app.cli.add_command(cli)
