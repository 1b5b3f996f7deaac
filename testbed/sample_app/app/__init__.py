import os

from flask import Flask, render_template
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

    return app
