"""Bad input never gets past `nfvmon generate`: one line `FILE: path: what`, exit 2, no output.

Every case runs three times: to stdout, with `-o OUT` for a new OUT (which must not appear,
and no `.nfvmon-*.tmp` may be left beside it), and with `-o OUT` over an existing file (which
must keep its old content). The error line must be the same each time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from nfvmon.cli import main
from nfvmon.generator.loader import MAX_DEPTH, MAX_INPUT_BYTES
from tests.conftest import TACKER_SAMPLES

VIM_ID = "6261579e-d6f3-49ad-8bc3-a9cb974778ff"
VNF_ID = "d4f5e8a2-3b7c-4e1f-9a6d-2c8b0e5f7a91"
ACTION_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
AUTH_URL = "http://127.0.0.1:5000/v3"
MGMT = "VDU1=127.0.0.1"

NODES = "topology_template.node_templates"
PROPS = f"{NODES}.VDU1.properties"
POLICY = f"{PROPS}.monitoring_policy"
OLD_CONTENT = "# the previous workflow, which a failed run must leave alone\n"


# --- helpers -----------------------------------------------------------------------------------

def _one_run(capsys, argv: list[str]) -> str:
    status = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    assert status == 2, f"exit {status}, stderr {err!r}"
    assert out == "", out
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), f"not exactly one line: {err!r}"
    return lines[0]


def _no_temp_files(directory: Path) -> None:
    assert sorted(p.name for p in directory.glob(".nfvmon-*.tmp")) == []


def _reject(capsys, tmp_path: Path, argv: list[str]) -> str:
    """Run `argv` to stdout, to a new OUT and over an existing OUT; return the error line."""
    line = _one_run(capsys, argv)
    out_dir = tmp_path / "out"
    out_dir.mkdir(exist_ok=True)
    new_out = out_dir / "new-workflow.yaml"
    assert _one_run(capsys, [*argv, "-o", str(new_out)]) == line
    assert not new_out.exists()
    _no_temp_files(out_dir)
    old_out = out_dir / "old-workflow.yaml"
    old_out.write_text(OLD_CONTENT)
    assert _one_run(capsys, [*argv, "-o", str(old_out)]) == line
    assert old_out.read_text() == OLD_CONTENT
    _no_temp_files(out_dir)
    return line


def _at(line: str, source: str, path: str, *words: str) -> None:
    """`line` is `source: path: message` and the message says each of `words`."""
    prefix = f"{source}: {path}: "
    assert line.startswith(prefix), f"{line!r} does not start with {prefix!r}"
    message = line[len(prefix):].lower()
    for word in words:
        assert word.lower() in message, f"{line!r} does not say {word!r}"


def _at_with_one_of(line: str, source: str, path: str, *alternatives: str) -> None:
    """`line` is `source: path: message` and the message says one of `alternatives`."""
    _at(line, source, path)
    message = line[len(f"{source}: {path}: "):].lower()
    assert any(word.lower() in message for word in alternatives), (
        f"{line!r} says none of {alternatives!r}")


def _at_root(line: str, source: str, *openings: str) -> None:
    """`line` is `source: message` (no path) and the message opens with one of `openings`."""
    assert line.startswith(f"{source}: "), line
    message = line[len(source) + 2:]
    assert any(message.startswith(opening) for opening in openings), (
        f"{line!r} does not open with any of {openings!r}")


def _vim_argv(config: Path | str, *extra: str) -> list[str]:
    return ["generate", "vim", str(config), "--vim-id", VIM_ID, *extra]


def _vnf_argv(vnfd: Path | str, *extra: str, mgmt: tuple[str, ...] = (MGMT,)) -> list[str]:
    argv = ["generate", "vnf", str(vnfd), "--vnf-id", VNF_ID]
    for value in mgmt:
        argv += ["--mgmt-ip", value]
    return [*argv, *extra]


def _argv(kind: str, path: Path | str, *extra: str) -> list[str]:
    return _vim_argv(path, *extra) if kind == "vim" else _vnf_argv(path, *extra)


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _dump(tmp_path: Path, name: str, data: object) -> Path:
    return _write(tmp_path, name, yaml.safe_dump(data, sort_keys=False))


def _vim_config(**fields: object) -> dict:
    return {"auth_url": AUTH_URL, **fields}


def _policy(name: object = "ping", parameters: object = None, actions: object = "default",
            ) -> dict:
    policy: dict = {"name": name}
    if parameters is not None:
        policy["parameters"] = parameters
    if actions == "default":
        policy["actions"] = {"failure": "respawn"}
    elif actions is not None:
        policy["actions"] = actions
    return policy


def _vnfd(policy: object, vdu: object = "VDU1", **properties: object) -> dict:
    props = {"image": "cirros-0.5.2-x86_64-disk", "mgmt_driver": "noop", **properties}
    if policy is not None:
        props["monitoring_policy"] = policy
    return {
        "tosca_definitions_version": "tosca_simple_profile_for_nfv_1_0_0",
        "topology_template": {"node_templates": {
            vdu: {"type": "tosca.nodes.nfv.VDU.Tacker", "properties": props},
            "CP1": {"type": "tosca.nodes.nfv.CP.Tacker", "properties": {"management": True}},
        }},
    }


def _legacy_2016(entries: object) -> dict:
    return {"template_name": "sample-vnfd",
            "vdus": {"vdu1": {"vm_image": "cirros", "monitoring_policy": entries}}}


def _legacy_2015(**properties: object) -> dict:
    return {"template_name": "sample-vnfd",
            "vdus": {"vdu1": {"vm_image": "cirros", **properties}}}


# --- the file itself: both commands ------------------------------------------------------------

ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{this}: &{this} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, this in zip("abcdefgh", "bcdefghi", strict=True)
)

#: (file content, how the one-line message opens); the path part is omitted for all of these.
FILE_CASES = {
    "list-root": ("- auth_url\n- VDU1\n", ("must be a mapping",)),
    "scalar-root": ("just a string\n", ("must be a mapping",)),
    "number-root": ("42\n", ("must be a mapping",)),
    "empty-file": ("", ("empty file",)),
    "whitespace-and-comments-only": ("  \n# only a comment\n\n   \n", ("empty file",)),
    "broken-yaml": ("auth_url: [http://127.0.0.1\ntopology_template: }\n", ("invalid YAML",)),
    "tab-indentation": ("monitor:\n\tcount: 1\n", ("invalid YAML",)),
    "two-documents": ("a: 1\n---\nb: 2\n", ("invalid YAML",)),
    "python-tag": ("a: !!python/object/apply:os.system [echo]\n", ("invalid YAML",)),
    "nul-bytes": (b"auth_url: http://127.0.0.1\x00\x00/v3\n", ("binary data",)),
    "invalid-utf8": (b"auth_url: http://127.0.0.1/\xff\xfe\xfa\n", ("not UTF-8",)),
    "alias-bomb": (ALIAS_BOMB, ("YAML anchors and aliases are not accepted",)),
    "single-anchor-and-alias": (f"auth_url: &url {AUTH_URL}\nother: *url\n",
                                ("YAML anchors and aliases are not accepted",)),
    "alias-without-anchor": ("auth_url: *url\n", ("YAML anchors and aliases are not accepted",)),
    "merge-key": ("base: {count: 1}\nmonitor:\n  <<: {count: 2}\n",
                  ("YAML merge keys (<<) are not accepted",)),
    "huge-file": ("a: " + "x" * MAX_INPUT_BYTES + "\n",
                  (f"file is larger than {MAX_INPUT_BYTES} bytes",)),
    "control-characters": (b"auth_url: http://127.0.0.1/v3\x01\x02\x1b[31m\n",
                           ("invalid YAML", "binary", "not UTF-8", "not a YAML text")),
}


@pytest.mark.parametrize("kind", ["vim", "vnf"])
@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_unreadable_or_unacceptable_file_is_a_one_line_error_at_the_root(
        kind, case, tmp_path, capsys):
    content, openings = FILE_CASES[case]
    path = _write(tmp_path, f"{case}.yaml", content)
    _at_root(_reject(capsys, tmp_path, _argv(kind, path)), str(path), *openings)


@pytest.mark.parametrize("kind", ["vim", "vnf"])
def test_missing_file_says_no_such_file(kind, tmp_path, capsys):
    path = tmp_path / "does-not-exist.yaml"
    _at_root(_reject(capsys, tmp_path, _argv(kind, path)), str(path), "no such file")


@pytest.mark.parametrize("kind", ["vim", "vnf"])
def test_directory_instead_of_a_file_says_so(kind, tmp_path, capsys):
    path = tmp_path / "a-directory.yaml"
    path.mkdir()
    _at_root(_reject(capsys, tmp_path, _argv(kind, path)), str(path),
             "is a directory, not a file")


@pytest.mark.parametrize("kind", ["vim", "vnf"])
def test_nesting_deeper_than_the_limit_names_where_it_got_too_deep(kind, tmp_path, capsys):
    depth = MAX_DEPTH + 20
    text = "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "leaf: 1\n"
    path = _write(tmp_path, "deep.yaml", text)
    line = _reject(capsys, tmp_path, _argv(kind, path))
    _at(line, str(path), ".".join(f"k{i}" for i in range(MAX_DEPTH + 1)),
        f"nesting deeper than {MAX_DEPTH} levels")


@pytest.mark.parametrize("kind", ["vim", "vnf"])
def test_pathologically_deep_flow_nesting_is_refused_without_a_crash(kind, tmp_path, capsys):
    path = _write(tmp_path, "deep.yaml", "a: " + "[" * 20000 + "]" * 20000 + "\n")
    line = _reject(capsys, tmp_path, _argv(kind, path))
    assert line.startswith(f"{path}: ") and "nest" in line and "deep" in line, line


#: YAML values PyYAML resolves or is told to build, but cannot: a user typo, not a crash.
UNBUILDABLE_VALUES = {
    "impossible-date": "2023-02-30",
    "month-13": "2023-13-01",
    "hour-25": "2023-01-01 25:00:00",
    "int-tag-on-text": "!!int abc",
    "int-tag-on-nothing": "!!int",
    "float-tag-on-empty-string": "!!float ''",
    "float-tag-on-text": "!!float abc",
    "bool-tag-on-text": "!!bool maybe",
    "timestamp-tag-on-text": "!!timestamp soon",
    "five-thousand-digit-int": "9" * 5000,
    "five-thousand-digit-hex": "0x" + "f" * 5000,
}


@pytest.mark.parametrize("kind", ["vim", "vnf"])
@pytest.mark.parametrize("case", sorted(UNBUILDABLE_VALUES))
def test_yaml_value_that_cannot_be_built_is_a_one_line_error(kind, case, tmp_path, capsys):
    path = _write(tmp_path, f"{case}.yaml", f"auth_url: {UNBUILDABLE_VALUES[case]}\n")
    line = _reject(capsys, tmp_path, _argv(kind, path))
    assert line.startswith(f"{path}: "), line
    # specific: it names the key, or the line of the file, where the bad value is
    assert line.startswith(f"{path}: auth_url: ") or "line 1" in line, line


# --- VIM config: values and paths --------------------------------------------------------------

#: (monitor block, path, words the message must say)
VIM_MONITOR_CASES = {
    "count-as-string": ({"count": "3"}, "monitor.count", "positive integer"),
    "count-as-bool": ({"count": True}, "monitor.count", "positive integer"),
    "count-zero": ({"count": 0}, "monitor.count", "positive integer"),
    "count-negative": ({"count": -3}, "monitor.count", "positive integer"),
    "count-fraction": ({"count": 2.5}, "monitor.count", "integer"),
    "timeout-negative": ({"timeout": -1}, "monitor.timeout", "positive number of seconds"),
    "timeout-zero": ({"timeout": 0}, "monitor.timeout", "positive number of seconds"),
    "timeout-inf": ({"timeout": float("inf")}, "monitor.timeout", "positive number of seconds"),
    "timeout-nan": ({"timeout": float("nan")}, "monitor.timeout", "number"),
    "interval-negative": ({"interval": -2}, "monitor.interval", "positive number of seconds"),
    "interval-zero": ({"interval": 0}, "monitor.interval", "positive number of seconds"),
    "interval-inf": ({"interval": float("inf")}, "monitor.interval",
                     "positive number of seconds"),
    "interval-minus-inf": ({"interval": float("-inf")}, "monitor.interval",
                           "positive number of seconds"),
    "interval-nan": ({"interval": float("nan")}, "monitor.interval", "number"),
    "interval-as-string": ({"interval": "2s"}, "monitor.interval", "number of seconds"),
    "typo-intervall": ({"intervall": 2}, "monitor.intervall", "unknown key", "interval"),
    "monitor-is-a-list": ([{"count": 1}], "monitor", "must be a mapping"),
}


@pytest.mark.parametrize("case", sorted(VIM_MONITOR_CASES))
def test_bad_vim_monitor_value_names_its_path(case, tmp_path, capsys):
    monitor, path, *words = VIM_MONITOR_CASES[case]
    config = _dump(tmp_path, "vim.yaml", _vim_config(monitor=monitor))
    _at(_reject(capsys, tmp_path, _vim_argv(config)), str(config), path, *words)


#: A hex literal escapes Python's 4300-digit int limit when read, but not when printed.
HUGE_HEX = "0x" + "f" * 5000


def test_huge_vim_count_is_an_error_at_its_path(tmp_path, capsys):
    config = _write(tmp_path, "vim.yaml", f"auth_url: {AUTH_URL}\nmonitor:\n"
                                          f"  count: {HUGE_HEX}\n")
    _at_with_one_of(_reject(capsys, tmp_path, _vim_argv(config)), str(config), "monitor.count",
                    "positive integer", "too large")


def test_huge_vnf_count_is_an_error_at_its_path(tmp_path, capsys):
    vnfd = _write(tmp_path, "vnfd.yaml", _vnfd_text().replace("count: 3", f"count: {HUGE_HEX}"))
    _at_with_one_of(_reject(capsys, tmp_path, _vnf_argv(vnfd)), str(vnfd),
                    f"{POLICY}.parameters.count", "positive integer", "too large")


def test_vim_config_without_auth_url_says_it_is_required(tmp_path, capsys):
    config = _dump(tmp_path, "vim.yaml", {"username": "nfv_user", "project_name": "nfv"})
    _at(_reject(capsys, tmp_path, _vim_argv(config)), str(config), "auth_url", "is required")


def test_duplicate_auth_url_is_an_error(tmp_path, capsys):
    config = _write(tmp_path, "vim.yaml", f"auth_url: {AUTH_URL}\nusername: nfv_user\n"
                                          "auth_url: http://127.0.0.2:5000/v3\n")
    _at(_reject(capsys, tmp_path, _vim_argv(config)), str(config), "auth_url", "duplicate key")


def test_any_duplicate_key_in_a_vim_config_is_an_error(tmp_path, capsys):
    config = _write(tmp_path, "vim.yaml", f"auth_url: {AUTH_URL}\nmonitor:\n  count: 1\n"
                                          "  count: 2\n")
    _at(_reject(capsys, tmp_path, _vim_argv(config)), str(config), "monitor.count",
        "duplicate key")


#: (auth_url value, words the message must say)
AUTH_URL_CASES = {
    "no-host": ("http:///v3", "has no host"),
    "port-but-no-host": ("http://:5000/v3", "has no host"),
    "ftp-scheme": ("ftp://127.0.0.1/v3", "http:// or https://"),
    "no-scheme": ("127.0.0.1:5000/v3", "http:// or https://"),
    "port-out-of-range": ("http://127.0.0.1:99999/v3", "port"),
    "port-not-a-number": ("http://127.0.0.1:fivethousand/v3", "port"),
    "ipv6-missing-closing-bracket": ("http://[fd00::1:5000/v3", "ipv6"),
    "ipv6-missing-opening-bracket": ("http://fd00::1]:5000/v3", "ipv6"),
    "ipv6-zone-id": ("http://[fe80::1%25eth0]:5000/v3", "zone"),
    "host-with-underscore-and-bang": ("http://key_stone!/v3", "host name"),
    "broken-ipv4": ("http://127.0.0.999:5000/v3", "host"),
    "empty-string": ("", "auth url"),
    "not-a-string": (5000, "auth url"),
}


@pytest.mark.parametrize("case", sorted(AUTH_URL_CASES))
def test_unusable_auth_url_is_an_error_at_auth_url(case, tmp_path, capsys):
    url, word = AUTH_URL_CASES[case]
    config = _dump(tmp_path, "vim.yaml", {"auth_url": url})
    _at(_reject(capsys, tmp_path, _vim_argv(config)), str(config), "auth_url", word)


# --- VNFD: values and paths --------------------------------------------------------------------

#: (monitoring_policy, path, words the message must say)
VNF_POLICY_CASES = {
    "count-as-string": (_policy(parameters={"count": "3"}), f"{POLICY}.parameters.count",
                        "positive integer"),
    "count-as-bool": (_policy(parameters={"count": True}), f"{POLICY}.parameters.count",
                      "positive integer"),
    "count-zero": (_policy(parameters={"count": 0}), f"{POLICY}.parameters.count",
                   "positive integer"),
    "count-fraction": (_policy(parameters={"count": 2.5}), f"{POLICY}.parameters.count",
                       "integer"),
    "retry-zero": (_policy(parameters={"retry": 0}), f"{POLICY}.parameters.retry",
                   "positive integer"),
    "interval-negative": (_policy(parameters={"interval": -1}), f"{POLICY}.parameters.interval",
                          "positive number of seconds"),
    "interval-zero": (_policy(parameters={"interval": 0}), f"{POLICY}.parameters.interval",
                      "positive number of seconds"),
    "interval-inf": (_policy(parameters={"interval": float("inf")}),
                     f"{POLICY}.parameters.interval", "positive number of seconds"),
    "interval-nan": (_policy(parameters={"interval": float("nan")}),
                     f"{POLICY}.parameters.interval", "number"),
    "timeout-negative": (_policy(parameters={"timeout": -2}), f"{POLICY}.parameters.timeout",
                         "positive number of seconds"),
    "timeout-zero": (_policy(parameters={"timeout": 0}), f"{POLICY}.parameters.timeout",
                     "positive number of seconds"),
    "timeout-minus-inf": (_policy(parameters={"timeout": float("-inf")}),
                          f"{POLICY}.parameters.timeout", "positive number of seconds"),
    "timeout-nan": (_policy(parameters={"timeout": float("nan")}),
                    f"{POLICY}.parameters.timeout", "number"),
    "delay-negative": (_policy(parameters={"monitoring_delay": -1}),
                       f"{POLICY}.parameters.monitoring_delay", "seconds"),
    "delay-nan": (_policy(parameters={"monitoring_delay": float("nan")}),
                  f"{POLICY}.parameters.monitoring_delay", "number"),
    "port-zero": (_policy("http_ping", parameters={"port": 0}), f"{POLICY}.parameters.port",
                  "port number from 1 to 65535"),
    "port-70000": (_policy("tcp", parameters={"port": 70000}), f"{POLICY}.parameters.port",
                   "port number from 1 to 65535"),
    "port-as-string": (_policy("http_ping", parameters={"port": "8000"}),
                       f"{POLICY}.parameters.port", "port number"),
    "parameters-is-a-list": (_policy(parameters=[{"count": 3}]), f"{POLICY}.parameters",
                             "must be a mapping"),
    "typo-intervall": (_policy(parameters={"intervall": 1}), f"{POLICY}.parameters.intervall",
                       "unknown key", "interval"),
    "unknown-monitor": (_policy("pingg"), f"{POLICY}.name", "unknown monitor", "ping"),
    "monitor-name-not-a-string": (_policy(7), f"{POLICY}.name", "unknown monitor"),
    "unknown-event-in-actions": (_policy(actions={"failure": "respawn", "falure": "respawn"}),
                                 f"{POLICY}.actions.falure", "unknown key", "failure"),
    "missing-actions": (_policy(actions=None), f"{POLICY}.actions", "is required"),
    "empty-actions": (_policy(actions={}), f"{POLICY}.actions", "non-empty"),
    "actions-is-a-list": (_policy(actions=["respawn"]), f"{POLICY}.actions", "mapping"),
    "action-name-not-a-name": (_policy(actions={"failure": "re spawn!"}),
                               f"{POLICY}.actions.failure", "policy action name"),
    "unknown-key-in-policy": ({**_policy(), "paramters": {"count": 1}},
                              f"{POLICY}.paramters", "unknown key"),
    "policy-is-a-number": (5, POLICY, "monitor name"),
}


@pytest.mark.parametrize("case", sorted(VNF_POLICY_CASES))
def test_bad_tosca_monitoring_policy_names_its_path(case, tmp_path, capsys):
    policy, path, *words = VNF_POLICY_CASES[case]
    vnfd = _dump(tmp_path, "vnfd.yaml", _vnfd(policy))
    _at(_reject(capsys, tmp_path, _vnf_argv(vnfd)), str(vnfd), path, *words)


def test_legacy_2016_parameter_error_names_the_monitor_key(tmp_path, capsys):
    entries = {"ping": {"monitoring_params": {"count": 0}, "actions": {"failure": "respawn"}}}
    vnfd = _dump(tmp_path, "vnfd.yaml", _legacy_2016(entries))
    _at(_reject(capsys, tmp_path, _vnf_argv(vnfd, mgmt=("vdu1=127.0.0.1",))), str(vnfd),
        "vdus.vdu1.monitoring_policy.ping.monitoring_params.count", "positive integer")


def test_legacy_2016_unknown_monitor_key_is_an_unknown_key(tmp_path, capsys):
    entries = {"pong": {"actions": {"failure": "respawn"}}}
    vnfd = _dump(tmp_path, "vnfd.yaml", _legacy_2016(entries))
    _at(_reject(capsys, tmp_path, _vnf_argv(vnfd, mgmt=("vdu1=127.0.0.1",))), str(vnfd),
        "vdus.vdu1.monitoring_policy.pong", "unknown key", "ping")


def test_legacy_2015_monitor_without_failure_policy_says_it_is_required(tmp_path, capsys):
    vnfd = _dump(tmp_path, "vnfd.yaml", _legacy_2015(monitoring_policy="ping"))
    _at(_reject(capsys, tmp_path, _vnf_argv(vnfd, mgmt=("vdu1=127.0.0.1",))), str(vnfd),
        "vdus.vdu1.failure_policy", "is required")


def test_legacy_2015_unknown_monitor_name_is_an_error(tmp_path, capsys):
    vnfd = _dump(tmp_path, "vnfd.yaml",
                 _legacy_2015(monitoring_policy="pong", failure_policy="respawn"))
    _at(_reject(capsys, tmp_path, _vnf_argv(vnfd, mgmt=("vdu1=127.0.0.1",))), str(vnfd),
        "vdus.vdu1.monitoring_policy", "unknown monitor")


def test_vnfd_without_node_templates_or_vdus_is_not_a_vnfd(tmp_path, capsys):
    vnfd = _dump(tmp_path, "vnfd.yaml", {"description": "a VIM config by mistake",
                                         "auth_url": AUTH_URL})
    _at_root(_reject(capsys, tmp_path, _vnf_argv(vnfd)), str(vnfd), "not a VNFD")


def test_node_templates_that_is_not_a_mapping_names_its_path(tmp_path, capsys):
    vnfd = _dump(tmp_path, "vnfd.yaml", {"topology_template": {"node_templates": ["VDU1"]}})
    _at(_reject(capsys, tmp_path, _vnf_argv(vnfd)), str(vnfd), NODES, "must be a mapping")


def test_vdu_properties_that_are_not_a_mapping_name_their_path(tmp_path, capsys):
    data = _vnfd(None)
    data["topology_template"]["node_templates"]["VDU1"]["properties"] = ["image", "cirros"]
    vnfd = _dump(tmp_path, "vnfd.yaml", data)
    _at(_reject(capsys, tmp_path, _vnf_argv(vnfd)), str(vnfd), PROPS, "must be a mapping")


def test_monitored_vdu_with_an_unusable_name_is_an_error(tmp_path, capsys):
    vnfd = _dump(tmp_path, "vnfd.yaml", _vnfd(_policy(), vdu="VDU 1!"))
    line = _reject(capsys, tmp_path, _vnf_argv(vnfd))
    _at(line, str(vnfd), f"{NODES}.VDU 1!", "letters, digits")


def test_same_monitor_twice_on_one_vdu_is_an_error(tmp_path, capsys):
    entries = {"http_ping": {"actions": {"failure": "respawn"}},
               "http-ping": {"actions": {"failure": "respawn"}}}
    vnfd = _dump(tmp_path, "vnfd.yaml", _legacy_2016(entries))
    _at(_reject(capsys, tmp_path, _vnf_argv(vnfd, mgmt=("vdu1=127.0.0.1",))), str(vnfd),
        "vdus.vdu1.monitoring_policy.http-ping", "given twice")


# --- duplicate keys in a VNFD ------------------------------------------------------------------

VNFD_TEXT = """\
tosca_definitions_version: tosca_simple_profile_for_nfv_1_0_0
topology_template:
  node_templates:
    VDU1:
      type: tosca.nodes.nfv.VDU.Tacker
      properties:
        image: cirros-0.5.2-x86_64-disk
        mgmt_driver: noop
{extra_property}        monitoring_policy:
          name: ping
{extra_policy}          parameters:
            monitoring_delay: 45
            count: 3
{extra_parameter}          actions:
            failure: respawn
"""


def _vnfd_text(extra_property: str = "", extra_policy: str = "", extra_parameter: str = "",
               ) -> str:
    return VNFD_TEXT.format(extra_property=extra_property, extra_policy=extra_policy,
                            extra_parameter=extra_parameter)


def test_duplicate_key_inside_policy_is_an_error(tmp_path, capsys):
    vnfd = _write(tmp_path, "vnfd.yaml", _vnfd_text(extra_policy="          name: tcp\n"))
    _at(_reject(capsys, tmp_path, _vnf_argv(vnfd)), str(vnfd), f"{POLICY}.name",
        "duplicate key")


def test_duplicate_parameter_inside_policy_is_an_error(tmp_path, capsys):
    vnfd = _write(tmp_path, "vnfd.yaml", _vnfd_text(extra_parameter="            count: 30\n"))
    _at(_reject(capsys, tmp_path, _vnf_argv(vnfd)), str(vnfd), f"{POLICY}.parameters.count",
        "duplicate key")


def test_duplicate_monitoring_policy_key_is_an_error(tmp_path, capsys):
    extra = "        monitoring_policy: noop\n"
    vnfd = _write(tmp_path, "vnfd.yaml", _vnfd_text(extra_property=extra))
    _at(_reject(capsys, tmp_path, _vnf_argv(vnfd)), str(vnfd), POLICY, "duplicate key")


def test_duplicate_vdu_node_is_an_error(tmp_path, capsys):
    text = _vnfd_text() + "    VDU1:\n      type: tosca.nodes.nfv.VDU.Tacker\n"
    vnfd = _write(tmp_path, "vnfd.yaml", text)
    _at(_reject(capsys, tmp_path, _vnf_argv(vnfd)), str(vnfd), f"{NODES}.VDU1",
        "duplicate key")


def test_duplicate_mgmt_driver_outside_policy_warns_and_succeeds(tmp_path, capsys):
    vnfd = _write(tmp_path, "vnfd.yaml",
                  _vnfd_text(extra_property="        mgmt_driver: noop\n"))
    out_file = tmp_path / "workflow.yaml"
    status = main(_vnf_argv(vnfd, "-o", str(out_file)))
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out == ""
    assert err.splitlines() == [
        f"nfvmon: WARNING: {vnfd}: {PROPS}.mgmt_driver: duplicate key, the last value wins"]
    doc = yaml.safe_load(out_file.read_text())
    (policy,) = doc[f"vnf_id_{VNF_ID}"]["tasks"]["monitor_vnf_policies"]["input"]["policies"]
    assert policy["vdu"] == "VDU1" and policy["monitor"] == "ping"


def test_tacker_sample_with_duplicate_mgmt_driver_still_generates(capsys):
    vnfd = TACKER_SAMPLES / "tosca-vnfd-monitoring-vdu-autoheal.yaml"
    status = main(_vnf_argv(vnfd))
    out, err = capsys.readouterr()
    assert status == 0, err
    (warning,) = err.splitlines()
    assert warning.startswith("nfvmon: WARNING: ") and "mgmt_driver: duplicate key" in warning
    doc = yaml.safe_load(out)
    (policy,) = doc[f"vnf_id_{VNF_ID}"]["tasks"]["monitor_vnf_policies"]["input"]["policies"]
    assert policy["actions"] == {"failure": "vdu_autoheal"}


# --- nothing to monitor ------------------------------------------------------------------------

#: sample → what the message must say about why there is no liveness policy.
NOTHING_TO_MONITOR = {
    "tosca-vnfd-no-monitor.yaml": ("no VDU has a monitoring_policy",),
    "tosca-vnfd-zabbix-monitor.yaml": ("app_monitoring_policy", "Zabbix"),
    "tosca-vnfd-alarm-respawn.yaml": ("tosca.policies.tacker.Alarming", "alarm"),
}


@pytest.mark.parametrize("sample", sorted(NOTHING_TO_MONITOR))
def test_vnfd_without_liveness_policy_says_nothing_to_monitor_and_why(
        sample, tmp_path, capsys):
    vnfd = TACKER_SAMPLES / sample
    line = _reject(capsys, tmp_path, _vnf_argv(vnfd))
    _at(line, str(vnfd), NODES, "nothing to monitor", *NOTHING_TO_MONITOR[sample])


def test_noop_monitor_everywhere_is_nothing_to_monitor(tmp_path, capsys):
    vnfd = _dump(tmp_path, "vnfd.yaml", _vnfd(_policy("noop")))
    _at(_reject(capsys, tmp_path, _vnf_argv(vnfd)), str(vnfd), NODES, "nothing to monitor",
        "noop")


# --- command-line values -----------------------------------------------------------------------

MONITOR_SAMPLE = TACKER_SAMPLES / "tosca-vnfd-monitor.yaml"
MULTI_VDU_SAMPLE = TACKER_SAMPLES / "tosca-vnfd-monitor-multi-vdu.yaml"


def test_mgmt_ip_for_a_vdu_the_vnfd_does_not_have_names_the_vdu(tmp_path, capsys):
    line = _reject(capsys, tmp_path,
                   _vnf_argv(MONITOR_SAMPLE, mgmt=(MGMT, "VDU9=127.0.0.9")))
    _at(line, "--mgmt-ip", "VDU9", f"{MONITOR_SAMPLE} has no VDU VDU9", "VDUs: VDU1")


@pytest.mark.parametrize("value", ["VDU1", "VDU1:127.0.0.1", "127.0.0.1", "=127.0.0.1"])
def test_mgmt_ip_without_vdu_and_equals_sign_says_expected_form(value, tmp_path, capsys):
    line = _reject(capsys, tmp_path, _vnf_argv(MONITOR_SAMPLE, mgmt=(value,)))
    assert line == f"--mgmt-ip: {value!r}: expected VDU=IP"


@pytest.mark.parametrize("address", ["300.1.1.1", "abc", "", "127.0.0.1 ", "127.0.0.1/32",
                                     "0127.0.0.1", "fd00::2::3", "127.0.0.1=x"])
def test_invalid_mgmt_ip_is_an_error_at_the_vdu(address, tmp_path, capsys):
    line = _reject(capsys, tmp_path, _vnf_argv(MONITOR_SAMPLE, mgmt=(f"VDU1={address}",)))
    _at(line, "--mgmt-ip", "VDU1", f"{address!r}: not a valid IP address")


@pytest.mark.parametrize("address", ["[fd00::2", "[fd00::12", "fd00::2]", "[127.0.0.1x",
                                     "[[fd00::2]]"])
def test_mgmt_ip_with_broken_brackets_is_an_error_not_a_different_address(
        address, tmp_path, capsys):
    line = _reject(capsys, tmp_path, _vnf_argv(MONITOR_SAMPLE, mgmt=(f"VDU1={address}",)))
    _at(line, "--mgmt-ip", "VDU1", "ip address")


def test_mgmt_ip_with_ipv6_zone_id_is_refused(tmp_path, capsys):
    line = _reject(capsys, tmp_path, _vnf_argv(MONITOR_SAMPLE, mgmt=("VDU1=fe80::1%eth0",)))
    _at(line, "--mgmt-ip", "VDU1", "zone ids are not supported")


def test_mgmt_ip_with_an_unusable_vdu_name_is_refused(tmp_path, capsys):
    line = _reject(capsys, tmp_path, _vnf_argv(MONITOR_SAMPLE, mgmt=("VDU 1=127.0.0.1",)))
    _at_root(line, "--mgmt-ip", "'VDU 1': must be 1-64 letters")


def test_monitored_vdu_without_mgmt_ip_says_which_vdu(tmp_path, capsys):
    line = _reject(capsys, tmp_path, _vnf_argv(MULTI_VDU_SAMPLE, mgmt=(MGMT,)))
    _at_root(line, "--mgmt-ip", "no management IP for monitored VDU VDU2")
    assert "--mgmt-ip VDU2=IP" in line


@pytest.mark.parametrize("kind", ["vim", "vnf"])
@pytest.mark.parametrize("action_id", ["not-a-uuid", "7c9e6679-7425-40de-944b",
                                       ACTION_ID + "0", ACTION_ID + "\n", ""])
def test_action_id_that_is_not_a_uuid_is_refused(kind, action_id, tmp_path, capsys):
    source = MONITOR_SAMPLE
    if kind == "vim":
        source = _dump(tmp_path, "vim.yaml", _vim_config())
    line = _reject(capsys, tmp_path, _argv(kind, source, f"--action-id={action_id}"))
    assert line == f"--action-id: {action_id!r}: must be a UUID"


BAD_RESOURCE_IDS = ["", "has space", "-leading-dash", ".leading-dot", "a/b", "x" * 129,
                    "vim\n", "caf\u00e9"]


@pytest.mark.parametrize("resource_id", BAD_RESOURCE_IDS)
def test_bad_vim_id_is_refused(resource_id, tmp_path, capsys):
    config = _dump(tmp_path, "vim.yaml", _vim_config())
    argv = ["generate", "vim", str(config), f"--vim-id={resource_id}"]
    line = _reject(capsys, tmp_path, argv)
    _at_root(line, "--vim-id", f"{resource_id!r}: must be 1-128 letters")


@pytest.mark.parametrize("resource_id", BAD_RESOURCE_IDS)
def test_bad_vnf_id_is_refused(resource_id, tmp_path, capsys):
    argv = ["generate", "vnf", str(MONITOR_SAMPLE), f"--vnf-id={resource_id}",
            "--mgmt-ip", MGMT]
    line = _reject(capsys, tmp_path, argv)
    _at_root(line, "--vnf-id", f"{resource_id!r}: must be 1-128 letters")


# --- values that are accepted must keep their meaning ------------------------------------------

@pytest.mark.parametrize("value", [3.0, 1.0e+2])
def test_whole_number_written_as_float_is_refused_or_written_as_an_integer(
        value, tmp_path, capsys):
    """The actions take `count` as an int; a `3.0` in the workflow is a float `count`."""
    vnfd = _dump(tmp_path, "vnfd.yaml", _vnfd(_policy(parameters={"count": value})))
    status = main(_vnf_argv(vnfd))
    out, err = capsys.readouterr()
    if status == 2:
        _at(err.rstrip("\n"), str(vnfd), f"{POLICY}.parameters.count", "integer")
        return
    assert status == 0, err
    doc = yaml.safe_load(out)
    (policy,) = doc[f"vnf_id_{VNF_ID}"]["tasks"]["monitor_vnf_policies"]["input"]["policies"]
    assert type(policy["parameters"]["count"]) is int
    assert policy["parameters"]["count"] == int(value)


def test_vim_count_written_as_float_is_refused_or_written_as_an_integer(tmp_path, capsys):
    config = _dump(tmp_path, "vim.yaml", _vim_config(monitor={"count": 3.0}))
    status = main(_vim_argv(config))
    out, err = capsys.readouterr()
    if status == 2:
        _at(err.rstrip("\n"), str(config), "monitor.count", "integer")
        return
    assert status == 0, err
    task = yaml.safe_load(out)[f"vim_id_{VIM_ID}"]["tasks"]["monitor_ping_vimPingVIMTASK"]
    assert type(task["input"]["count"]) is int and task["input"]["count"] == 3


@pytest.mark.parametrize("action_name", ["respawn\n", "respawn\r\n"])
def test_policy_action_name_with_a_trailing_line_break_is_refused(
        action_name, tmp_path, capsys):
    """A `|` block scalar gives `respawn\\n`: not the action `respawn`, and not a name."""
    vnfd = _dump(tmp_path, "vnfd.yaml", _vnfd(_policy(actions={"failure": action_name})))
    _at_with_one_of(_reject(capsys, tmp_path, _vnf_argv(vnfd)), str(vnfd),
                    f"{POLICY}.actions.failure", "policy action name", "letters, digits")


def test_legacy_failure_policy_with_a_trailing_line_break_is_refused(tmp_path, capsys):
    vnfd = _dump(tmp_path, "vnfd.yaml",
                 _legacy_2015(monitoring_policy="ping", failure_policy="respawn\n"))
    _at_with_one_of(_reject(capsys, tmp_path, _vnf_argv(vnfd, mgmt=("vdu1=127.0.0.1",))),
                    str(vnfd), "vdus.vdu1.failure_policy", "policy action name",
                    "letters, digits")


# --- the message itself stays on one line ------------------------------------------------------

LINE_BREAKS = {"newline": "\n", "carriage-return": "\r", "line-separator": "\u2028",
               "next-line": "\u0085"}


@pytest.mark.parametrize("brk", sorted(LINE_BREAKS))
def test_error_stays_on_one_line_when_an_unknown_vim_key_holds_a_line_break(
        brk, tmp_path, capsys):
    config = _dump(tmp_path, "vim.yaml",
                   _vim_config(monitor={f"intervall{LINE_BREAKS[brk]}evil": 1}))
    line = _reject(capsys, tmp_path, _vim_argv(config))
    assert line.startswith(f"{config}: monitor") and "unknown key" in line


@pytest.mark.parametrize("brk", sorted(LINE_BREAKS))
def test_error_stays_on_one_line_when_a_duplicate_key_holds_a_line_break(
        brk, tmp_path, capsys):
    key = json.dumps(f"a{LINE_BREAKS[brk]}b")
    config = _write(tmp_path, "vim.yaml", f"auth_url: {AUTH_URL}\n{key}: 1\n{key}: 2\n")
    line = _reject(capsys, tmp_path, _vim_argv(config))
    assert line.startswith(f"{config}: ") and "duplicate key" in line


@pytest.mark.parametrize("brk", sorted(LINE_BREAKS))
def test_error_stays_on_one_line_when_a_vdu_name_holds_a_line_break(brk, tmp_path, capsys):
    vnfd = _dump(tmp_path, "vnfd.yaml", _vnfd(_policy(), vdu=f"VDU1{LINE_BREAKS[brk]}evil: 1"))
    line = _reject(capsys, tmp_path, _vnf_argv(vnfd))
    assert line.startswith(f"{vnfd}: {NODES}") and "letters, digits" in line


@pytest.mark.parametrize("brk", sorted(LINE_BREAKS))
def test_error_stays_on_one_line_when_a_bad_parameter_sits_under_such_a_vdu(
        brk, tmp_path, capsys):
    vnfd = _dump(tmp_path, "vnfd.yaml",
                 _vnfd(_policy(parameters={"count": 0}), vdu=f"VDU1{LINE_BREAKS[brk]}x"))
    line = _reject(capsys, tmp_path, _vnf_argv(vnfd))
    assert line.startswith(f"{vnfd}: {NODES}") and "positive integer" in line


@pytest.mark.parametrize("brk", sorted(LINE_BREAKS))
def test_nothing_to_monitor_stays_on_one_line_when_a_vdu_name_holds_a_line_break(
        brk, tmp_path, capsys):
    vnfd = _dump(tmp_path, "vnfd.yaml",
                 _vnfd(None, vdu=f"VDU1{LINE_BREAKS[brk]}x",
                       app_monitoring_policy={"name": "zabbix"}))
    line = _reject(capsys, tmp_path, _vnf_argv(vnfd))
    assert line.startswith(f"{vnfd}: {NODES}: nothing to monitor")


@pytest.mark.parametrize("brk", sorted(LINE_BREAKS))
def test_duplicate_key_warning_stays_on_one_line_when_the_key_holds_a_line_break(
        brk, tmp_path, capsys):
    key = json.dumps(f"note{LINE_BREAKS[brk]}evil")
    extra = f"        {key}: 1\n        {key}: 2\n"
    vnfd = _write(tmp_path, "vnfd.yaml", _vnfd_text(extra_property=extra))
    status = main(_vnf_argv(vnfd))
    _, err = capsys.readouterr()
    assert status == 0, err
    (warning,) = err.splitlines()
    assert warning.startswith(f"nfvmon: WARNING: {vnfd}: {PROPS}.note")
    assert warning.endswith(": duplicate key, the last value wins")
