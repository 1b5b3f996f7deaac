"""A local Debian server in a Docker container: systemd as PID 1, sshd, published on 127.0.0.1.
Debian 12 (bookworm) by default, or 13 with DEBIAN=trixie.

No image registry is needed: the base image is built from Debian packages with mmdebstrap and
`docker import`. The host's extra CA certificates are trusted inside (TLS-intercepting proxies).
`make deploy` deploys to it when no DEPLOY_* host is set; the tests start servers of their own.

Usage: python -m testbed.local_server start|stop|status
"""

import argparse
import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import docker
import docker.errors

DEBIAN = ("DEBIAN", "bookworm")  # the Debian release of the local server and the test servers
RELEASES = {"bookworm": "12", "trixie": "13"}
NAME_VARIABLE = "LOCAL_SERVER_NAME"  # its container's name
DEFAULT_NAME = os.environ.get(NAME_VARIABLE) or "flask-deploy-server"
STATE_DIR_VARIABLE = "LOCAL_SERVER_STATE_DIR"  # its SSH key, known_hosts and the sample app's repository
STATE_DIR = os.environ.get(STATE_DIR_VARIABLE) or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".local"
)
# Its ports on 127.0.0.1: each (environment variable, default).
SSH_PORT = ("LOCAL_SERVER_SSH_PORT", 2222)
HTTP_PORT = ("LOCAL_SERVER_HTTP_PORT", 8080)
HTTPS_PORT = ("LOCAL_SERVER_HTTPS_PORT", 8443)
INVENTORY_NAME = "local-server"
SETTINGS_VARIABLE = "LOCAL_SERVER_SETTINGS"  # more settings of the local server (JSON), for every make target


def port(which):
    variable, default = which
    return int(os.environ.get(variable) or default)


def handover(files_dir=None, key_dir=None, ssh_port=None, https_port=None, repo=None, settings=None, given=None):
    """The DEPLOY_* variables that hand the local server to inventory.py as a real server is: one
    host holding every role, named in an ssh_config file, its settings in a settings file: the
    sample app (or APP_REPO), a self-signed certificate for localhost and 127.0.0.1 on the
    published port, over them the operator's DEPLOY_SETTINGS file (an app of theirs), and
    LOCAL_SERVER_SETTINGS (or `settings`). Both files are written in
    `files_dir`; the SSH key and known_hosts are those of `key_dir` (both default STATE_DIR).
    `given`: the operator's settings file (default: DEPLOY_SETTINGS)."""
    from core.settings import environment

    files_dir, key_dir = files_dir or STATE_DIR, key_dir or files_dir or STATE_DIR
    os.makedirs(files_dir, mode=0o700, exist_ok=True)
    ssh_config = os.path.join(files_dir, "ssh_config")
    with open(ssh_config, "w") as out:
        out.write(
            f"Host {INVENTORY_NAME}\n  HostName 127.0.0.1\n  Port {ssh_port or port(SSH_PORT)}\n  User root\n"
            f"  IdentityFile {os.path.join(key_dir, 'id_ed25519')}\n"
            # The container gets new host keys when it is recreated: a throwaway known_hosts.
            f"  UserKnownHostsFile {os.path.join(key_dir, 'known_hosts')}\n"
        )
    settings_file = os.path.join(files_dir, "settings.py")
    # the operator's own settings file (one per app: DEPLOY_SETTINGS=hello.py), unless it is ours
    given = given or environment.get(environment.SETTINGS_FILE)
    operators = environment.settings_file(given) if given and os.path.abspath(given) != settings_file else {}
    chosen = {
        "repo": repo or os.environ.get(environment.APP_REPO) or os.path.join(key_dir, "sample-app"),
        "tls": "self-signed",
        "server_names": ["localhost", "127.0.0.1"],
        **operators,
        **(
            {"server_names": [operators["domain"]]} if "domain" in operators and "server_names" not in operators else {}
        ),
        "public_https_port": https_port or port(HTTPS_PORT),
        **(settings if settings is not None else json.loads(os.environ.get(SETTINGS_VARIABLE) or "{}")),
    }
    with open(settings_file, "w") as out:
        out.write("# the local server's settings, written by testbed.local_server.handover\n")
        out.writelines(f"{name} = {value!r}\n" for name, value in chosen.items())
    return {
        environment.HOSTS: INVENTORY_NAME,
        environment.SSH_CONFIG: ssh_config,
        environment.SETTINGS_FILE: settings_file,
    }


HOST_CA_GLOB = "/usr/local/share/ca-certificates/*.crt"
BASE_PACKAGES = "systemd,systemd-sysv,dbus,openssh-server,python3,sudo,ca-certificates,curl,iproute2,procps"


def client():
    try:
        engine = docker.from_env()
        engine.ping()
        return engine
    except docker.errors.DockerException as error:
        sys.exit(f"No Docker engine answers ({error}). Start one (`make docker`) or set DOCKER_HOST.")


def debian():
    """The release asked for in DEBIAN (default bookworm); any other name stops with the choices."""
    release = os.environ.get(DEBIAN[0]) or DEBIAN[1]
    if release not in RELEASES:
        sys.exit(f"DEBIAN={release} is not a release the local server is built for: use bookworm (12) or trixie (13).")
    return release


def image(release):
    return f"flask-deploy/debian{RELEASES[release]}:1"


def build_image(engine, release, trust_host_cas=True):
    """Build the base image of `release` once; later calls reuse it."""
    try:
        return engine.images.get(image(release))
    except docker.errors.ImageNotFound:
        pass
    if not shutil.which("mmdebstrap"):
        sys.exit("mmdebstrap is missing: apt-get install mmdebstrap (or run `make test`, which installs it).")
    hooks = [
        # Host keys are made per container at first boot, never shared through the image.
        '--customize-hook=rm -f "$1"/etc/ssh/ssh_host_*',
        '--customize-hook=mkdir -p "$1"/etc/systemd/system/ssh.service.d',
        '--customize-hook=printf "[Service]\\nExecStartPre=\\nExecStartPre=/usr/bin/ssh-keygen -A\\n'
        'ExecStartPre=/usr/sbin/sshd -t\\n" > "$1"/etc/systemd/system/ssh.service.d/host-keys.conf',
        '--customize-hook=chroot "$1" systemctl mask getty@tty1.service console-getty.service',
    ]
    cas = sorted(glob.glob(HOST_CA_GLOB)) if trust_host_cas else []
    for ca in cas:
        hooks.append(f"--customize-hook=upload {ca} /usr/local/share/ca-certificates/{os.path.basename(ca)}")
    if cas:
        hooks.append('--customize-hook=chroot "$1" update-ca-certificates')
    with tempfile.TemporaryDirectory() as tmp:
        rootfs = os.path.join(tmp, "rootfs.tar")
        subprocess.run(
            ["mmdebstrap", "--quiet", "--variant=minbase", f"--include={BASE_PACKAGES}", *hooks, release, rootfs],
            check=True,
        )
        subprocess.run(
            ["docker", "import", "--change", 'CMD ["/lib/systemd/systemd"]', rootfs, image(release)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return engine.images.get(image(release))


def ensure_key(state_dir=STATE_DIR):
    """An SSH key pair for the local server, in an ignored folder."""
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    key = os.path.join(state_dir, "id_ed25519")
    if not os.path.exists(key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "flask-deploy", "-f", key], check=True)
    with open(key + ".pub") as pub:
        return key, pub.read().strip()


def run(container, command):
    exit_code, output = container.exec_run(["sh", "-c", command])
    if exit_code != 0:
        raise RuntimeError(f"{command!r} failed in {container.name}: {output.decode(errors='replace')}")
    return output.decode()


def wait_for_ssh(ssh_port, timeout=60):
    import socket

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", ssh_port), timeout=2) as sock:
                if sock.recv(4).startswith(b"SSH"):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"sshd did not answer on 127.0.0.1:{ssh_port} within {timeout}s")


def start(
    name=DEFAULT_NAME,
    ssh_port=None,
    http_port=None,
    https_port=None,
    state_dir=STATE_DIR,
    network=None,
    publish_web=True,
):
    """Create (or reuse) and start the server; returns the container. Ports default to the
    LOCAL_SERVER_* ones; HTTP(S) are published only with `publish_web`; `network` is the Docker
    network to join (default: Docker's bridge)."""
    ssh_port = ssh_port or port(SSH_PORT)
    if publish_web:
        http_port, https_port = http_port or port(HTTP_PORT), https_port or port(HTTPS_PORT)
    else:
        http_port = https_port = None
    engine = client()
    release = debian()
    key, public_key = ensure_key(state_dir)
    try:
        container = engine.containers.get(name)
        if image(release) not in container.image.tags:
            sys.exit(
                f"The server {name} runs {', '.join(container.image.tags)}, not Debian {RELEASES[release]} "
                f"(DEBIAN={release}): `make stop` removes it, then `make server` makes it anew."
            )
        if container.status != "running":
            container.start()
    except docker.errors.NotFound:
        build_image(engine, release)
        container = engine.containers.run(
            image(release),
            name=name,
            hostname=name,
            detach=True,
            # SYS_PTRACE: root reads every process's file table, as on a VPS
            cap_add=["SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE"],
            security_opt=["seccomp=unconfined", "apparmor=unconfined"],
            tmpfs={"/run": "", "/run/lock": ""},
            volumes={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}},
            cgroupns="host",
            ports={
                f"{port}/tcp": ("127.0.0.1", published)
                for port, published in ((22, ssh_port), (80, http_port), (443, https_port))
                if published
            },
            network=network,
        )
        # A new container has new host keys: forget the old ones.
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(state_dir, "known_hosts"))
    deadline = time.time() + 60
    while container.exec_run(["systemctl", "is-system-running"]).output.strip() not in (b"running", b"degraded"):
        if time.time() > deadline:
            raise RuntimeError(f"systemd in {name} did not finish booting")
        time.sleep(0.5)
    run(
        container,
        "install -d -m 0700 /root/.ssh && "
        f"grep -qxF '{public_key}' /root/.ssh/authorized_keys 2>/dev/null || "
        f"echo '{public_key}' >> /root/.ssh/authorized_keys",
    )
    wait_for_ssh(ssh_port)
    return container


def stop(name=DEFAULT_NAME):
    with contextlib.suppress(docker.errors.NotFound):
        client().containers.get(name).remove(force=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--name", default=DEFAULT_NAME)
    args = parser.parse_args()
    if args.action == "start":
        container = start(args.name)
        print(f"Local server {container.name} is up: ssh root@127.0.0.1 -p {port(SSH_PORT)}")
    elif args.action == "stop":
        stop(args.name)
    else:
        try:
            print(client().containers.get(args.name).status)
        except docker.errors.NotFound:
            print("absent")


if __name__ == "__main__":
    main()
