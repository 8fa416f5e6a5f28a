"""nfvmon's options: one source for the monitor defaults, and a sample config kept current."""

from __future__ import annotations

import re

import pytest
from oslo_config import cfg

from nfvmon import config, defaults
from nfvmon.errors import InputError
from tests.conftest import ROOT

SAMPLE = ROOT / "etc" / "nfvmon.conf.sample"


def _sample_options() -> dict[str, dict[str, str]]:
    groups: dict[str, dict[str, str]] = {}
    group = None
    for line in SAMPLE.read_text().splitlines():
        if match := re.fullmatch(r"\[(\w+)\]", line):
            group = groups.setdefault(match.group(1), {})
        elif (match := re.fullmatch(r"#(\w+) =\s?(.*)", line)) and group is not None:
            group.setdefault(match.group(1), match.group(2))
    return groups


def test_sample_config_lists_every_nfvmon_option_with_its_default():
    sample = _sample_options()
    for group, opts in config.list_opts():
        for opt in opts:
            assert opt.dest in sample.get(group, {}), (
                f"[{group}] {opt.dest} missing from {SAMPLE.name}: regenerate it with "
                "oslo-config-generator --config-file etc/oslo-config-generator/nfvmon.conf")
            if opt.default is not None and opt.sample_default is None \
                    and not isinstance(opt.default, list):
                default = str(opt.default)
                expected = default.lower() if isinstance(opt.default, bool) else default
                assert sample[group][opt.dest] == expected, (group, opt.dest)


def test_monitor_options_come_from_the_single_source_of_defaults():
    conf = cfg.ConfigOpts()
    config.register_opts(conf)
    conf([], project="nfvmon")
    assert config.monitor_defaults(conf, "vim") == dict(defaults.VIM_MONITOR_DEFAULTS)
    for monitor, params in defaults.VNF_MONITOR_DEFAULTS.items():
        got = config.monitor_defaults(conf, monitor)
        assert got == dict(params)
        assert all(type(got[k]) is type(v) for k, v in params.items()), monitor


def test_configured_monitor_default_overrides_the_built_in_one(tmp_path):
    conf = cfg.ConfigOpts()
    conf_file = tmp_path / "nfvmon.conf"
    conf_file.write_text("[monitor]\nping_interval = 0.5\nvim_count = 5\n")
    config.load([str(conf_file)], conf=conf, setup_logging=False)
    assert config.monitor_defaults(conf, "ping")["interval"] == 0.5
    assert config.monitor_defaults(conf, "vim")["count"] == 5


def test_default_database_is_a_sqlite_file_under_state_path(tmp_path):
    conf = cfg.ConfigOpts()
    conf_file = tmp_path / "nfvmon.conf"
    conf_file.write_text(f"[DEFAULT]\nstate_path = {tmp_path}/state\n")
    config.load([str(conf_file)], conf=conf, setup_logging=False)
    assert config.database_url(conf) == f"sqlite:///{tmp_path}/state/nfvmon.sqlite"


def test_missing_or_broken_config_file_is_a_one_line_input_error(tmp_path):
    with pytest.raises(InputError, match="no such configuration file"):
        config.load([str(tmp_path / "absent.conf")], conf=cfg.ConfigOpts(),
                    setup_logging=False)
    broken = tmp_path / "broken.conf"
    broken.write_text("[conductor\ntopic = x\n")
    with pytest.raises(InputError, match="broken.conf: cannot parse"):
        config.load([str(broken)], conf=cfg.ConfigOpts(), setup_logging=False)


@pytest.mark.parametrize("line, path, why", [
    ("[conductor]\nrpc_workers = abc\n", "conductor.rpc_workers", "invalid literal for int()"),
    ("[conductor]\nrpc_workers = 0\n", "conductor.rpc_workers", "greater than or equal to 1"),
    ("[DEFAULT]\nlog_rotate_interval = x\n", "DEFAULT.log_rotate_interval", "invalid literal"),
    ("[monitor]\nvim_count = -1\n", "monitor.vim_count", "greater than or equal to 0"),
])
def test_a_bad_option_value_is_a_one_line_input_error_at_load(tmp_path, line, path, why):
    """oslo.config checks a value only when it is read: the conductor read it deep in its
    start-up and printed a 48-line traceback."""
    conf_file = tmp_path / "nfvmon.conf"
    conf_file.write_text(line)
    with pytest.raises(InputError) as raised:
        config.load([str(conf_file)], conf=cfg.ConfigOpts(), setup_logging=False)
    assert str(raised.value).startswith(f"{conf_file}: {path}: "), str(raised.value)
    assert why in str(raised.value) and "\n" not in str(raised.value)
