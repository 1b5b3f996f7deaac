import hashlib
import os

from flask import Flask, jsonify, redirect, render_template, request
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from config import Config

db = SQLAlchemy()
migrate = Migrate()
VERSION_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "VERSION")


def create_app(config_class=Config):
    app = Flask(__name__)
    app.config.from_object(config_class)
    db.init_app(app)
    migrate.init_app(app, db)

    from app.models import Post

    @app.route("/")
    def index():
        with open(VERSION_FILE) as version:
            release = version.read().strip()
        return render_template("index.html", release=release, posts=Post.query.count())

    @app.route("/register", methods=["GET", "POST"])
    def register():
        # The article's app registers users with a WTForms Email field: its requirements pin
        # email_validator 1.1.3 and leave WTForms free, as here.
        from app.forms import RegisterForm

        form = RegisterForm(request.form)
        if request.method == "POST" and form.validate():
            db.session.add(Post(body=f"registered {form.email.data}"))
            db.session.commit()
            return redirect("/")
        return render_template("register.html", form=form), 400 if request.method == "POST" else 200

    @app.route("/debug/request")
    def request_seen():
        """What the app sees of the request: the tests check what nginx forwards."""
        return jsonify(
            remote_addr=request.remote_addr,
            scheme=request.scheme,
            host=request.host,
            forwarded_for=request.headers.get("X-Forwarded-For"),
            forwarded_ssl=request.headers.get("X-Forwarded-Ssl"),
            forwarded_protocol=request.headers.get("X-Forwarded-Protocol"),
        )

    @app.route("/debug/settings")
    def settings_seen():
        """What the app's process sees of its settings (of the secret, a digest only): the tests
        check that they reach it."""
        return jsonify(
            database=db.engine.url.get_backend_name(),
            posts=Post.query.count(),
            in_environment=sorted(name for name in ("SECRET_KEY", "DATABASE_URL") if name in os.environ),
            secret_key_sha256=hashlib.sha256(app.config["SECRET_KEY"].encode()).hexdigest(),
        )

    return app
