"""A Flask app shaped unlike the article's: an app factory in a package, no database, no
migrations, no gunicorn in its dependencies (pyproject.toml only), settings read from the process
environment alone."""

import os

from flask import Flask, jsonify


def create_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]

    @app.route("/")
    def index():
        with open("VERSION") as version:  # gunicorn runs in the release's folder
            return f"Hello {version.read().strip()}"

    @app.route("/settings")
    def settings():
        """Which of its own settings the app sees: a plain one's value, a secret's presence alone."""
        return jsonify(greeting=os.environ.get("GREETING"), api_token=bool(os.environ.get("API_TOKEN")))

    return app
