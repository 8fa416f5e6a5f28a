"""The list/show/events commands as operators use them (cliff's -f/-c), `vim events`,
unknown ids and commands, --config-file and $NFVMON_CONFIG_FILE, and `config sample`."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import yaml

from nfvmon import status_machine as sm
from nfvmon.cli import main
from nfvmon.db.api import VIM, VNF, Store
from nfvmon.db.engine import make_engine
from nfvmon.db.migrate import upgrade
from tests.conftest import ROOT

LONG_REASON = ("VDU1 at 127.0.0.2 did not answer 3 pings in a row within 1 s each; the "
               "respawn policy asks the VNF manager for a new server")


@pytest.fixture(autouse=True)
def _conf(global_conf):
    """main() reads cfg.CONF; restored afterwards."""
    return global_conf


@pytest.fixture
def database(tmp_path) -> Path:
    """A configuration whose database holds two VIMs and a VNF with two VDUs that died."""
    url = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
    upgrade(url)
    store = Store(make_engine(url))
    store.create_vim("vim-a", target="127.0.0.1", name="lab")
    store.create_vim("vim-b", target="127.0.0.2", name="edge", action_id="b1")
    store.write_status(VIM, "vim-b", sm.MONITOR_UNREACHABLE, action_id="b1", reason="no answer",
                       details={"target": "127.0.0.2"})
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2", "127.0.0.3"],
                                    "VDU2": ["127.0.0.4"]}, name="fw", action_id="f1")
    store.write_status(VNF, "vnf-1", sm.FAILURE, action_id="f1", reason=LONG_REASON,
                       details={"report": {"vdu": "VDU1", "target": "127.0.0.2"}})
    store.close()
    conf = tmp_path / "nfvmon.conf"
    conf.write_text(f"[DEFAULT]\nstate_path = {tmp_path}/state\n[database]\nconnection = "
                    f"{url}\n")
    return conf


def _run(capsys, *argv) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_vim_list_value_format_prints_the_ids_one_a_line(database, capsys):
    status, out, err = _run(capsys, "vim", "list", "-f", "value", "-c", "id",
                            "--config-file", str(database))
    assert (status, out) == (0, "vim-a\nvim-b\n"), err


def test_vnf_list_json_keeps_the_columns_and_the_mgmt_ips_mapping(database, capsys):
    status, out, err = _run(capsys, "vnf", "list", "-f", "json", "--config-file",
                            str(database))
    assert status == 0, err
    (row,) = json.loads(out)
    assert list(row) == ["id", "name", "status", "mgmt_ips", "reason", "updated_at"]
    assert row["mgmt_ips"] == {"VDU1": ["127.0.0.2", "127.0.0.3"], "VDU2": ["127.0.0.4"]}
    assert (row["status"], row["reason"]) == ("DEAD", LONG_REASON)


def test_vim_show_yaml_is_one_mapping_of_the_vim_columns(database, capsys):
    status, out, err = _run(capsys, "vim", "show", "vim-b", "-f", "yaml", "--config-file",
                            str(database))
    assert status == 0, err
    shown = yaml.safe_load(out)
    assert list(shown) == ["id", "name", "target", "status", "reason", "updated_at"]
    assert (shown["target"], shown["status"], shown["reason"]) == (
        "127.0.0.2", "UNREACHABLE", "no answer")


def test_vnf_show_table_fits_80_columns_and_keeps_everything(database, capsys):
    status, out, err = _run(capsys, "vnf", "show", "vnf-1", "--config-file", str(database))
    assert status == 0, err
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, out
    assert "VDU1=127.0.0.2,127.0.0.3; VDU2=127.0.0.4" in out
    words = " ".join(line.strip("|+- ").split("|")[-1].strip() for line in lines)
    assert LONG_REASON in " ".join(words.split()), out


def test_max_width_zero_still_turns_wrapping_off(database, capsys):
    status, out, _ = _run(capsys, "vnf", "show", "vnf-1", "--max-width", "0",
                          "--config-file", str(database))
    assert status == 0 and LONG_REASON in out


def test_vim_events_lists_what_happened_to_the_vim(database, capsys):
    status, out, err = _run(capsys, "vim", "events", "vim-b", "-f", "json",
                            "--config-file", str(database))
    assert status == 0, err
    events = json.loads(out)
    assert [list(e) for e in events] == [["time", "type", "state", "details"]] * len(events)
    assert [e["state"] for e in events] == ["PENDING", "UNREACHABLE"]
    assert events[-1]["details"]["target"] == "127.0.0.2"


def test_vnf_events_table_shows_details_as_compact_json(database, capsys):
    status, out, err = _run(capsys, "vnf", "events", "vnf-1", "--config-file", str(database))
    assert status == 0, err
    assert '{"vdus":{"VDU1":["127.0.0.2","127.0.0.3"],"VDU2":["127.0.0.4"]}}' in out


@pytest.mark.parametrize("kind", ["vim", "vnf"])
@pytest.mark.parametrize("command", ["show", "events"])
def test_an_unknown_id_is_one_line_and_exit_2(database, capsys, kind, command):
    status, out, err = _run(capsys, kind, command, "nope", "--config-file", str(database))
    assert (status, out, err) == (2, "", f"nfvmon: no {kind.upper()} nope\n")


def test_an_unknown_column_is_one_line_and_exit_2(database, capsys):
    status, out, err = _run(capsys, "vim", "list", "-c", "colour", "--config-file",
                            str(database))
    assert (status, out) == (2, "")
    assert err.count("\n") == 1 and "colour" in err and "Traceback" not in err


def test_debug_adds_the_traceback_to_the_error_line(database, capsys):
    status, _, err = _run(capsys, "--debug", "vnf", "show", "nope", "--config-file",
                          str(database))
    assert status == 2
    assert "Traceback" in err and err.endswith("nfvmon: no VNF nope\n")


def test_later_config_files_win_and_the_option_repeats(database, tmp_path, capsys):
    empty = tmp_path / "elsewhere.conf"
    empty.write_text(f"[database]\nconnection = sqlite:///{tmp_path / 'other.sqlite'}\n")
    status, _, err = _run(capsys, "vim", "list", "--config-file", str(database),
                          "--config-file", str(empty))
    assert status == 2 and "other.sqlite" in err  # the second file's database
    status, out, _ = _run(capsys, "vim", "list", "-f", "value", "-c", "id",
                          "--config-file", str(empty), "--config-file", str(database))
    assert (status, out) == (0, "vim-a\nvim-b\n")


def test_nfvmon_config_file_is_the_default_configuration(database, monkeypatch, capsys):
    monkeypatch.setenv("NFVMON_CONFIG_FILE", str(database))
    status, out, err = _run(capsys, "vnf", "list", "-f", "value", "-c", "id", "-c", "status")
    assert (status, out) == (0, "vnf-1 DEAD\n"), err


def test_no_command_and_an_unknown_command_are_usage_errors(capsys):
    status, out, err = _run(capsys)
    assert (status, out) == (2, "") and "nfvmon help" in err
    status, out, err = _run(capsys, "vim", "frob")
    assert (status, out) == (2, "") and err.count("\n") == 1
    assert "'vim frob' is not a command" in err and "vim list" in err


def test_a_bad_option_is_argparse_usage_exit_2(capsys):
    status, out, err = _run(capsys, "vim", "list", "-f", "xml")
    assert (status, out) == (2, "") and "invalid choice: 'xml'" in err


def test_config_sample_prints_the_sample_of_the_source_tree(capsys):
    status, out, err = _run(capsys, "config", "sample")
    assert status == 0, err
    assert out == (ROOT / "etc" / "nfvmon.conf.sample").read_text()


def test_config_sample_is_made_as_the_generator_config_says():
    from nfvmon.cli.config import SAMPLE_NAMESPACES, SAMPLE_WRAP_WIDTH

    text = (ROOT / "etc" / "oslo-config-generator" / "nfvmon.conf").read_text()
    settings = [[part.strip() for part in line.split("=", 1)] for line in text.splitlines()
                if "=" in line]
    assert tuple(value for key, value in settings if key == "namespace") == SAMPLE_NAMESPACES
    assert dict(settings)["wrap_width"] == str(SAMPLE_WRAP_WIDTH)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_register_prints_the_new_id_alone_and_what_to_run_on_stderr(database, tmp_path,
                                                                    capsys):
    """--deploy external needs no Mistral, and a broker that is down is no error."""
    conf = tmp_path / "with-broker.conf"
    conf.write_text(f"[DEFAULT]\ntransport_url = rabbit://guest:guest@127.0.0.1:"
                    f"{_closed_port()}/\n")
    vim_file = tmp_path / "vim.yaml"
    vim_file.write_text("auth_url: http://127.0.0.1:5000/v3\n")
    workflow = tmp_path / "wf.yaml"
    status, out, err = _run(capsys, "vim", "register", str(vim_file), "--deploy", "external",
                            "-o", str(workflow), "--config-file", str(database),
                            "--config-file", str(conf))
    assert status == 0, err
    vim_id = out.strip()
    assert out == f"{vim_id}\n" and f"vim_id_{vim_id}" in workflow.read_text()
    assert f"VIM {vim_id} recorded for external deployment" in err
    status, out, err = _run(capsys, "vim", "register", str(vim_file), "--deploy", "external",
                            "-f", "json", "--config-file", str(database),
                            "--config-file", str(conf))
    assert status == 0, err
    assert set(json.loads(out)) == {"id", "deployment", "workflow", "name", "action_id"}


def test_a_generator_bug_is_one_line_asking_for_a_report_and_exit_70(monkeypatch, capsys):
    from nfvmon.errors import GeneratorBug

    def broken(*args, **kwargs):
        raise GeneratorBug("rendered workflow does not parse back")

    monkeypatch.setattr("nfvmon.generator.vim_workflow", broken)
    status, out, err = _run(capsys, "generate", "vim", str(ROOT / "samples" / "vim-config.yaml"),
                            "--vim-id", "v1")
    assert (status, out) == (70, "")
    assert err == ("nfvmon: internal error (please report): rendered workflow does not parse "
                   "back\n")
