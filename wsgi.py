"""The WSGI entry point: `gunicorn wsgi:app`, or `flask --app wsgi run` in development."""
from helpdesk import create_app
from helpdesk.jobs import start_ticker

app = create_app()
start_ticker(app)
