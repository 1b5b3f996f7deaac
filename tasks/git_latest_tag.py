from pyinfra import host, logger
from pyinfra.api import deploy

from core.plan.source import plan
from core.settings.resolved import settings
from operations.release import ship_commits


@deploy("App source at its latest tag")
def app_source():
    """Ensures the server's repository can give the release to deploy, `ref` or the latest tag
    (as the article's `git describe` picks it, core/plan/source.py), and says which: a local
    repository's commits are shipped to the server's repository here; a URL's are fetched by the
    release program, as the build account, when it builds."""
    s = settings()
    paths = s.paths
    release = plan(host)
    if not release.changed:
        logger.info(f"{host.name}: {release.serving} serves already: nothing to update")
    else:
        change = f"{release.serving} -> {release.wanted}" if release.serving else f"{release.wanted}, the first"
        logger.info(f"{host.name}: release {change}")
    if release.local_repo:
        ship_commits(
            name=f"Commits of {release.target.name}",
            local_repo=release.local_repo,
            ref=release.target.ref,
            commit=release.target.commit,
            program=paths.program,
            bundle=paths.incoming_bundle,
            repository=paths.repo,
            user=s.build_user,
        )
