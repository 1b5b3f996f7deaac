"""A local Debian 12 server in a Docker container: systemd as PID 1, sshd, published on 127.0.0.1.

No image registry is needed: the base image is built from Debian packages with mmdebstrap and
`docker import`. The host's extra CA certificates are trusted inside (TLS-intercepting proxies).

Usage: python -m tools.local_server start|stop|status [--name N] [--ssh-port P] [--http-port P]
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

import docker
import docker.errors

IMAGE = "flask-deploy/debian12:1"
DEFAULT_NAME = "flask-deploy-server"
DEFAULT_STATE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".local")
HOST_CA_GLOB = "/usr/local/share/ca-certificates/*.crt"
BASE_PACKAGES = "systemd,systemd-sysv,dbus,openssh-server,python3,sudo,ca-certificates,curl,iproute2,procps"


def client():
    try:
        engine = docker.from_env()
        engine.ping()
        return engine
    except docker.errors.DockerException as error:
        sys.exit(f"No Docker engine answers ({error}). Start one (`make docker`) or set DOCKER_HOST.")


def build_image(engine, trust_host_cas=True):
    """Build the base image once; later calls reuse it."""
    try:
        return engine.images.get(IMAGE)
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
            ["mmdebstrap", "--quiet", "--variant=minbase", f"--include={BASE_PACKAGES}", *hooks, "bookworm", rootfs],
            check=True,
        )
        subprocess.run(
            ["docker", "import", "--change", 'CMD ["/lib/systemd/systemd"]', rootfs, IMAGE],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return engine.images.get(IMAGE)


def ensure_key(state_dir):
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


def start(name=DEFAULT_NAME, ssh_port=2222, http_port=8080, https_port=8443, state_dir=DEFAULT_STATE_DIR,
          network=None):
    """Create (or reuse) and start the server; returns the container. HTTP(S) ports of None are
    not published; `network` is the Docker network to join (default: Docker's bridge)."""
    engine = client()
    key, public_key = ensure_key(state_dir)
    try:
        container = engine.containers.get(name)
        if container.status != "running":
            container.start()
    except docker.errors.NotFound:
        build_image(engine)
        container = engine.containers.run(
            IMAGE,
            name=name,
            hostname=name,
            detach=True,
            cap_add=["SYS_ADMIN", "NET_ADMIN"],
            security_opt=["seccomp=unconfined", "apparmor=unconfined"],
            tmpfs={"/run": "", "/run/lock": ""},
            volumes={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}},
            cgroupns="host",
            ports={f"{port}/tcp": ("127.0.0.1", published) for port, published in
                   ((22, ssh_port), (80, http_port), (443, https_port)) if published},
            network=network,
        )
        # A new container has new host keys: forget the old ones.
        try:
            os.remove(os.path.join(state_dir, "known_hosts"))
        except FileNotFoundError:
            pass
    deadline = time.time() + 60
    while container.exec_run(["systemctl", "is-system-running"]).output.strip() not in (b"running", b"degraded"):
        if time.time() > deadline:
            raise RuntimeError(f"systemd in {name} did not finish booting")
        time.sleep(0.5)
    run(
        container,
        "install -d -m 0700 /root/.ssh && "
        f"grep -qxF '{public_key}' /root/.ssh/authorized_keys 2>/dev/null || echo '{public_key}' >> /root/.ssh/authorized_keys",
    )
    wait_for_ssh(ssh_port)
    return container


def stop(name=DEFAULT_NAME):
    try:
        client().containers.get(name).remove(force=True)
    except docker.errors.NotFound:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--name", default=os.environ.get("LOCAL_SERVER_NAME", DEFAULT_NAME))
    parser.add_argument("--ssh-port", type=int, default=int(os.environ.get("LOCAL_SERVER_SSH_PORT", 2222)))
    parser.add_argument("--http-port", type=int, default=int(os.environ.get("LOCAL_SERVER_HTTP_PORT", 8080)))
    parser.add_argument("--https-port", type=int, default=int(os.environ.get("LOCAL_SERVER_HTTPS_PORT", 8443)))
    args = parser.parse_args()
    if args.action == "start":
        container = start(args.name, args.ssh_port, args.http_port, args.https_port)
        print(f"Local server {container.name} is up: ssh root@127.0.0.1 -p {args.ssh_port}")
    elif args.action == "stop":
        stop(args.name)
    else:
        try:
            print(client().containers.get(args.name).status)
        except docker.errors.NotFound:
            print("absent")


if __name__ == "__main__":
    main()
