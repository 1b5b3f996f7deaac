"""The newcomer's first steps as the README gives them: `make deploy` with no configuration starts
a local Debian server, builds the sample app, hands the server to inventory.py as a real one and
deploys; a second `make deploy` changes nothing; `make status` reports it healthy; `make stop`
removes it."""

import os
import re
import subprocess

import docker.errors
import pytest

from core.settings import environment
from testbed import local_server
from testbed.client import http_get
from testbed.servers import ROOT, free_port

pytestmark = pytest.mark.e2e


def make(target, variables):
    result = subprocess.run(
        ["make", "-s", "--no-print-directory", target], cwd=ROOT, env=variables, capture_output=True, text=True
    )
    result.output = result.stdout + result.stderr
    return result


def test_make_deploy_with_no_configuration_serves_the_sample_app_on_a_local_server(engine, tmp_path):
    name = f"flask-deploy-test-make-{os.getpid()}"
    variables = {key: value for key, value in os.environ.items() if not key.startswith(("DEPLOY_", "LOCAL_SERVER_"))}
    for variable in (environment.APP_REPO, environment.SECRET_KEY, environment.DB_PASSWORD):
        variables.pop(variable, None)
    https_port = free_port()
    variables.update(
        {
            local_server.NAME_VARIABLE: name,
            local_server.STATE_DIR_VARIABLE: str(tmp_path),
            local_server.SSH_PORT[0]: str(free_port()),
            local_server.HTTP_PORT[0]: str(free_port()),
            local_server.HTTPS_PORT[0]: str(https_port),
        }
    )
    try:
        first = make("deploy", variables)
        assert first.returncode == 0, first.output[-5000:]
        url = f"https://localhost:{https_port}/"
        assert f"The app is up: {url}" in first.stdout
        status, _, body = http_get(url)  # through nginx, its self-signed certificate for localhost
        assert status == 200 and body, (status, body[:300])
        assert os.path.isdir(tmp_path / "sample-app") and (tmp_path / "settings.py").is_file()

        second = make("deploy", variables)
        assert second.returncode == 0 and "nothing changed since the last deploy" in second.output, second.output
        report = make("status", variables)
        assert report.returncode == 0 and re.search(r"^local-server \[[a-z, ]+\]: healthy", report.stdout, re.M), (
            report.output
        )
    finally:
        stopped = make("stop", variables)
    assert stopped.returncode == 0, stopped.output
    with pytest.raises(docker.errors.NotFound):
        local_server.client().containers.get(name)
