"""The release program's names and keys (flask_release.identity): what may name a release,
which tag is the latest, and when a tag may not be deployed."""

import pytest

from flask_release.identity import (
    Ref,
    Refused,
    Target,
    check_immutable,
    check_name,
    check_not_older,
    latest_tag,
    parse_refs,
    pip_key,
    resolve,
    venv_key,
    version_key,
)

A, B, C = "a" * 40, "b" * 40, "c" * 40


@pytest.mark.parametrize("name", ["v1.2.0", "1.0", "release_2024+build.7", "V2-rc1", "main-abc1234"])
def test_plain_names_make_releases(name):
    assert check_name(name, "tag") == name


@pytest.mark.parametrize(
    "name",
    [
        "v9$(touch /tmp/pwned)",
        "-x",
        ".hidden",
        "..",
        "a/b",
        "v1 2",
        "x" * 101,
        "",
        "v1;reboot",
        "v1`id`",
        "v1\nv2",
        "v1.partial",
    ],
)
def test_names_a_shell_or_a_path_could_misread_are_refused_naming_the_rule(name):
    with pytest.raises(Refused, match="cannot name a release.*letters, digits and"):
        check_name(name, "tag")


def refs(*items):
    return [Ref(kind, name, commit, date) for kind, name, commit, date in items]


def test_the_latest_tag_is_that_of_the_newest_tagged_commit_as_git_describe_picks_it():
    found = refs(("tag", "v1.9.0", A, 100), ("tag", "v1.10.0", B, 200), ("branch", "main", C, 300))
    assert latest_tag(found).name == "v1.10.0"
    both = refs(("tag", "v2.0.0", A, 100), ("tag", "v2.0.0-rc1", A, 100))  # two tags on one commit
    assert latest_tag(both).name == "v2.0.0"
    assert resolve(found) == Target("v1.10.0", "v1.10.0", B, True)


def test_a_pinned_tag_or_branch_resolves_and_a_missing_one_is_a_clear_error():
    found = refs(("tag", "v1.0.0", A, 100), ("branch", "feature/x", C, 300))
    assert resolve(found, "v1.0.0") == Target("v1.0.0", "v1.0.0", A, True)
    assert resolve(found, "feature/x") == Target("feature_x-ccccccc", "feature/x", C, False)
    with pytest.raises(Refused, match=r"The ref `v9` \(setting `ref`\) does not exist"):
        resolve(found, "v9")
    with pytest.raises(Refused, match="has no tag.*set `ref`"):
        resolve(refs(("branch", "main", C, 1)))


def test_a_latest_tag_with_a_bad_name_stops_naming_the_tag():
    found = refs(("tag", "v1.0.0", A, 100), ("tag", "v9$(touch /tmp/pwned)", B, 200))
    with pytest.raises(Refused, match=r"latest tag 'v9\$\(touch /tmp/pwned\)' cannot name a release"):
        resolve(found)


def test_refs_are_parsed_from_for_each_ref_and_anything_else_is_skipped():
    lines = [
        f"refs/tags/v1\t{A}\t{B}\t\t100",  # annotated: the peeled commit and its date
        f"refs/tags/v2\t{C}\t\t200\t",  # lightweight
        f"refs/heads/main\t{A}\t\t300\t",
        "refs/tags/bad\tnot-a-commit\t\t1\t",
        "garbage",
        f"refs/notes/x\t{A}\t\t1\t",
    ]
    assert parse_refs(lines) == refs(("tag", "v1", B, 100), ("tag", "v2", C, 200), ("branch", "main", A, 300))


def test_versions_order_numerically():
    names = ["v1.10.0", "v1.9.0", "v1.2.0", "v2.0.0", "v1.2.10", "v2.0.0-rc2", "v2.0.0-rc10", "release-3"]
    assert sorted(names, key=version_key) == [
        "v1.2.0",
        "v1.2.10",
        "v1.9.0",
        "v1.10.0",
        "v2.0.0-rc2",
        "v2.0.0-rc10",
        "v2.0.0",
        "release-3",
    ]


def test_a_latest_tag_older_than_the_serving_one_is_refused_with_the_way_to_pin_it():
    serving = {"name": "v1.5.0", "commit": A, "tag": True}
    with pytest.raises(Refused, match=r"v1.4.0 is older than v1.5.0.*set ref=v1.4.0"):
        check_not_older(Target("v1.4.0", "v1.4.0", B, True), serving)
    check_not_older(Target("v1.6.0", "v1.6.0", B, True), serving)
    check_not_older(Target("v1.4.0", "v1.4.0", B, True), {"name": "main-aaaaaaa", "commit": A, "tag": False})
    check_not_older(Target("v1.4.0", "v1.4.0", B, True), None)


def test_a_tag_whose_commit_moved_is_refused():
    releases = {"v1.2.0": {"name": "v1.2.0", "commit": A}}
    with pytest.raises(Refused, match="now points at bbbbbbbbbbbb.*built from aaaaaaaaaaaa.*immutable"):
        check_immutable(Target("v1.2.0", "v1.2.0", B, True), releases)
    check_immutable(Target("v1.2.0", "v1.2.0", A, True), releases)


def test_keys_change_with_requirements_and_pip_settings_alone():
    key = pip_key(["-c", "/etc/app/pip-constraints.txt"], "WTForms<3.3\n")
    assert key == pip_key(["-c", "/etc/app/pip-constraints.txt"], "WTForms<3.3\n")
    assert key != pip_key(["-c", "/etc/app/pip-constraints.txt"], "WTForms<3.2\n")
    assert key != pip_key([], "")
    assert venv_key(b"Flask==3.0\n", key) != venv_key(b"Flask==3.1\n", key) != venv_key(b"Flask==3.1\n", "other")
