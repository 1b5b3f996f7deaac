"""Entry point, in this package and at the root of the zipapp the deploy ships."""

from flask_release.cli import main

raise SystemExit(main())
