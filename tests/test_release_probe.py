"""What the release program reads of its host that another account could shape, without a server:
a health probe has an overall deadline whatever trickles in, and reads no further than a status
line; a port's listener and a connection's client are told apart by the account that made them;
nginx's workers are its master's children; /static is a release's real folder; releases of an
earlier layout count as not built; a nightly backup that failed is remembered."""

import json
import os
import socket
import threading
import time

import pytest

from flask_release import backups, nginx, sockets
from flask_release.service import NotHTTP, Service, probe
from flask_release.state import LAYOUT, State, built
from tests.test_release_steps import config

TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 501 1
   1: 0100007F:1F41 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 502 1
   2: 0100007F:1F40 0100007F:A000 01 00000000:00000000 00:00000000 00000000     0        0 503 1
   3: 0100007F:A000 0100007F:1F40 01 00000000:00000000 00:00000000 00000000    33        0 504 1
   4: 0100007F:1F40 0100007F:B000 01 00000000:00000000 00:00000000 00000000     0        0 505 1
   5: 0100007F:B000 0100007F:1F40 01 00000000:00000000 00:00000000 00000000  1000        0 506 1
   6: 0100007F:1F40 0A000001:C000 01 00000000:00000000 00:00000000 00000000     0        0 507 1
"""


def serve_once(answer):
    """A listener on loopback that runs `answer(connection)` for one client; returns its port."""
    listener = socket.create_server(("127.0.0.1", 0))

    def run():
        connection, _ = listener.accept()
        with connection, listener:
            connection.recv(1024)
            answer(connection)

    threading.Thread(target=run, daemon=True).start()
    return listener.getsockname()[1]


def trickle(connection):
    for byte in b"HTTP/1.1 200 OK\r\n":
        try:
            connection.sendall(bytes([byte]))
        except OSError:
            return
        time.sleep(0.4)  # each byte well within a read's timeout: only a deadline for all of it ends it


def test_a_trickling_listener_holds_a_probe_no_longer_than_its_deadline():
    port = serve_once(trickle)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="no status line within 2 s"):
        probe(f"http://127.0.0.1:{port}/", "localhost", timeout=2)
    assert time.monotonic() - started < 3


def test_a_health_check_ends_by_its_seconds_whatever_answers(tmp_path):
    service = Service(None, config(tmp_path, health_check_seconds=1))
    port = serve_once(trickle)
    started = time.monotonic()
    healthy, detail = service.health(url=f"http://127.0.0.1:{port}/")
    assert not healthy and "no status line within" in detail
    assert time.monotonic() - started < 1 + 5 + 1  # its seconds, then one probe at most


def test_what_is_not_http_is_named_with_its_escapes_shown():
    port = serve_once(lambda connection: connection.sendall(b"\x1b]0;owned\x07 hello\r\n"))
    with pytest.raises(NotHTTP) as error:
        probe(f"http://127.0.0.1:{port}/", "localhost")
    assert "\x1b" not in str(error.value) and "\\\\x1b]0;owned\\\\x07 hello" in str(error.value)
    port = serve_once(lambda connection: connection.sendall(b"HTTP/1.1 503 Service Unavailable\r\nX: y\r\n\r\n"))
    assert probe(f"http://127.0.0.1:{port}/health", "localhost") == 503


def fake_proc(tmp_path, processes=()):
    """A /proc with TCP as its socket table, and `processes`: (pid, parent, command, socket inode)."""
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "tcp").write_text(TCP)
    (tmp_path / "stat").write_text("cpu 1 2 3\nbtime 1700000000\n")
    for pid, parent, command, inode in processes:
        folder = tmp_path / str(pid)
        (folder / "fd").mkdir(parents=True)
        (folder / "stat").write_text(f"{pid} (some (name)) S {parent} 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1234 0\n")
        (folder / "cmdline").write_bytes(command.encode().replace(b" ", b"\0") + b"\0")
        if inode:
            os.symlink(f"socket:[{inode}]", folder / "fd" / "3")
    return str(tmp_path)


def test_a_port_is_ours_when_root_made_its_socket_and_a_holder_of_anothers_is_named(tmp_path):
    proc = fake_proc(tmp_path, [(700, 1, "python3 -m http.server 8001", 502)])
    assert sockets.foreign_listener(8000, proc) is None  # root's socket (app-exec's)
    held = sockets.foreign_listener(8001, proc)
    assert held.startswith("uid 1000") or held.startswith("user ")
    assert "process 700 (python3 -m http.server 8001)" in held
    assert sockets.foreign_listener(8002, proc) is None


def test_only_nginxs_connections_and_other_hosts_count_for_the_drain(tmp_path):
    proc = fake_proc(tmp_path)
    # 503/504: nginx (uid 33) to 8000; 505/506: the app user's own client; 507: from another host
    assert [entry.inode for entry in sockets.connections_of(8000, {33}, proc)] == [503, 507]
    assert [entry.inode for entry in sockets.connections_of(8000, set(), proc)] == [507]


def test_nginxs_workers_are_its_masters_children_whatever_else_calls_itself_so(tmp_path, monkeypatch):
    title = "nginx: worker process is shutting down"
    proc = fake_proc(tmp_path, [(40, 1, "nginx: master process", 0), (41, 40, title, 0), (99, 1, title, 0)])
    (tmp_path / "nginx.pid").write_text("40\n")
    monkeypatch.setattr(nginx, "MASTER_PID", str(tmp_path / "nginx.pid"))
    assert nginx.workers(shutting_down=True, proc=proc) == {"41"}
    assert nginx.workers(proc=proc) == set()


def test_static_is_served_from_a_releases_real_folder_written_once(tmp_path):
    path = str(tmp_path / "static.conf")
    assert nginx.serve_static(path, "/srv/microblog/releases/v1.2.0/app/static", "prog")
    with open(path) as written:
        assert "alias /srv/microblog/releases/v1.2.0/app/static/;\n" in written.read()
    assert not nginx.serve_static(path, "/srv/microblog/releases/v1.2.0/app/static", "prog")  # no reload
    for folder in ("/srv/x/../etc", "/srv/x; include /etc/shadow", "relative/static", "/srv/x y"):
        with pytest.raises(Exception, match="cannot be the static folder"):
            nginx.serve_static(path, folder, "prog")


def test_releases_of_an_earlier_layout_count_as_not_built_and_the_history_stays(tmp_path):
    path = tmp_path / "state.json"
    earlier = {
        "releases": {"v1": {"name": "v1"}},
        "venvs": {"k": {}},
        "serving": "v1",
        "live": "blue",
        "history": [{"event": "deploy", "release": "v1"}],
        "pending": {"release": "v2", "previous": "v1"},
    }
    path.write_text(json.dumps(earlier))
    state = State(str(path))
    assert state["releases"] == {} and state["venvs"] == {} and state["pending"] is None
    assert state.serving == "v1" and state["live"] == "blue" and len(state["history"]) == 1
    assert state.serving_release() is None and built(earlier) == {}
    state.save()
    assert State(str(path))["layout"] == LAYOUT and built(json.loads(path.read_text())) == {}
    state["releases"]["v2"] = {"name": "v2"}
    state.save()
    assert built(json.loads(path.read_text())) == {"v2": {"name": "v2"}}


def test_a_failed_nightly_backup_is_remembered_until_one_passes(tmp_path):
    path = str(tmp_path / "nightly.json")
    assert backups.last_nightly(path) is None
    backups.record_nightly(path, "the database backup failed (Lock wait timeout exceeded)")
    assert backups.last_nightly(path)["ok"] is False and "Lock wait" in backups.last_nightly(path)["detail"]
    backups.record_nightly(path)
    assert backups.last_nightly(path)["ok"] is True and os.stat(path).st_mode & 0o777 == 0o600
