"""What a deploy reads of a host before deciding anything, in one command."""

import json
import shlex

from pyinfra.api import FactBase


def sections(output):
    """{name: text} of output made of sections, each after a line `== name`."""
    found, name = {}, None
    for line in output:
        if line.startswith("== "):
            name = line[3:]
            found[name] = []
        elif name:
            found[name].append(line)
    return {key: "\n".join(lines).strip() for key, lines in found.items()}


class HostState(FactBase):
    """{"state": root's record of releases (dict, or None), "converged": what the last good deploy
    recorded, "probe": the digest of the probe now, "clock": "fresh" or "stale", "certificates":
    {path: DNS names of a certificate valid for another day, or None}}."""

    def command(self, probe, clock, state_file, converged_file, certificates):
        parts = [
            "echo '== state'",
            f"cat {shlex.quote(state_file)} 2>/dev/null",
            "echo",
            "echo '== converged'",
            f"cat {shlex.quote(converged_file)} 2>/dev/null",
            "echo",
            "echo '== probe'",
            f"( {probe} ) | sha256sum | cut -c1-64",
            "echo '== clock'",
            clock,
        ]
        for path in certificates:
            quoted = shlex.quote(path)
            parts += [
                f"echo '== certificate {path}'",
                f"test -s {quoted} && openssl x509 -in {quoted} -noout -checkend 86400 >/dev/null && "
                f"openssl x509 -in {quoted} -noout -ext subjectAltName 2>/dev/null || true",
            ]
        return "; ".join(parts)

    def process(self, output):
        text = sections(output)
        try:
            state = json.loads(text.get("state") or "null")
        except ValueError:
            state = None
        certificates = {}
        for key, value in text.items():
            if key.startswith("certificate "):
                names = [
                    item.strip()[4:] for item in value.replace("\n", ",").split(",") if item.strip().startswith("DNS:")
                ]
                certificates[key[len("certificate ") :]] = names or None
        return {
            "state": state,
            "converged": text.get("converged", ""),
            "probe": text.get("probe", ""),
            "clock": text.get("clock", "stale"),
            "certificates": certificates,
        }


class System(FactBase):
    """{"cores": CPU cores, "id": /etc/os-release's ID, "version": its VERSION_ID, "name": its
    PRETTY_NAME, "python": python3's version or None}: which system the host runs, read from it."""

    def command(self):
        return (
            "nproc; grep -E '^(ID|VERSION_ID|PRETTY_NAME)=' /etc/os-release 2>/dev/null; "
            "python3 -c 'import platform; print(\"PYTHON=\" + platform.python_version())' 2>/dev/null || true"
        )

    def process(self, output):
        cores = int(output[0]) if output and output[0].isdigit() else 1
        found = {}
        for line in output[1:]:
            key, _, value = line.partition("=")
            found[key] = value.strip().strip("\"'")
        return {
            "cores": cores,
            "id": found.get("ID"),
            "version": found.get("VERSION_ID"),
            "name": found.get("PRETTY_NAME") or "an unknown system",
            "python": found.get("PYTHON"),
        }


class AppsHere(FactBase):
    """{app_name: record} of every app whose deploy recorded itself on the host, in root's folder
    (core/plan/apps_here.py); a record that does not parse is {}."""

    @staticmethod
    def default():
        return {}

    def command(self, folder):
        each = 'test -f "$f" && echo "== $(basename "$f" .json)" && cat "$f" && echo'
        return f"for f in {shlex.quote(folder)}/*.json; do {each}; done; true"

    def process(self, output):
        records = {}
        for name, text in sections(output).items():
            try:
                records[name] = json.loads(text)
            except ValueError:
                records[name] = {}
        return records
