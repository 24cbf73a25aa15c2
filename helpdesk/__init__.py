"""The help desk core: app factory, config, extensions and the domain packages."""
from __future__ import annotations

import importlib
import logging
import uuid
from pathlib import Path

from flask import Flask, g, request

from helpdesk import config as config_module
from helpdesk.database import configure_engine
from helpdesk.extensions import csrf, db, htmx, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=(overrides or {}).get("INSTANCE_PATH") or config_module._env("INSTANCE_PATH") or str(ROOT / "instance"),
    )
    app.config.update(config_module.load(app.instance_path, overrides))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    _init_request_id(app)

    from helpdesk import auth, i18n, jobs, models, web  # noqa: F401  (models register their tables)
    from helpdesk.admin.views import bp as admin_bp
    from helpdesk.assets.views import bp as assets_bp
    from helpdesk.auth.views import bp as auth_bp
    from helpdesk.cases.views import bp as cases_bp
    from helpdesk.chat import views as chat_views
    from helpdesk.contracts.views import bp as contracts_bp
    from helpdesk.imports.views import bp as imports_bp
    from helpdesk.insights.views import bp as insights_bp
    from helpdesk.notifications import views as notifications_views
    from helpdesk.people.views import bp as people_bp
    from helpdesk.recycle.views import bp as recycle_bp
    from helpdesk.sla.views import bp as sla_bp

    for blueprint in (auth_bp, cases_bp, people_bp, assets_bp, contracts_bp, sla_bp, admin_bp, recycle_bp, imports_bp,
                      notifications_views.bp, insights_bp):
        app.register_blueprint(blueprint)
    chat_views.init_app(app)  # the console's blueprint and the live transport
    notifications_views.init_app(app)  # template helpers: the bell's count, follow buttons
    web.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    jobs.init_app(app)

    from helpdesk import commands

    commands.init_app(app)

    for name in app.config["EDGE_PACKAGES"]:
        importlib.import_module(name).init_app(app)
    return app


def _init_request_id(app: Flask) -> None:
    @app.before_request
    def assign_request_id():
        g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex[:12]

    class RequestIdFilter(logging.Filter):
        def filter(self, record):
            try:
                record.request_id = g.get("request_id", "-")
            except RuntimeError:
                record.request_id = "-"
            return True

    app.logger.addFilter(RequestIdFilter())
