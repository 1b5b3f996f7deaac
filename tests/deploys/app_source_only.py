"""Only the git task, for the tests of a `repo` URL that the server clones itself."""

from tasks.git_latest_tag import app_source

app_source()
