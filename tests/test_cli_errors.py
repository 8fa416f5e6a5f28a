"""The commands that use the database or the broker: one line that says what to do, exit 2,
and no side effect (a read command never creates a database)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from nfvmon.cli import main
from nfvmon.db.migrate import upgrade
from tests.conftest import rabbit_url

READ_COMMANDS = [["vim", "list"], ["vnf", "list"], ["vim", "show", "vim-1"],
                 ["vnf", "show", "vnf-1"], ["vnf", "events", "vnf-1"]]


@pytest.fixture(autouse=True)
def _conf(global_conf):
    """main() reads cfg.CONF; restored afterwards."""
    return global_conf


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_conf(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "nfvmon.conf"
    path.write_text(f"[DEFAULT]\nstate_path = {tmp_path}/state\n{body}")
    return path


def _run(capsys, *argv) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_a_read_command_without_a_database_says_run_db_upgrade_and_creates_nothing(
        tmp_path, capsys, command):
    conf = _write_conf(tmp_path, "")
    status, out, err = _run(capsys, *command, "--config-file", str(conf))
    database = tmp_path / "state" / "nfvmon.sqlite"
    assert (status, out) == (2, "")
    assert err == f"no database file {database}: run nfvmon db upgrade --config-file {conf}\n"
    assert not database.parent.exists()


def test_a_read_command_on_an_old_schema_says_run_db_upgrade(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    upgrade(url, "0001")
    conf = _write_conf(tmp_path, f"[database]\nconnection = {url}\n")
    status, _, err = _run(capsys, "vim", "list", "--config-file", str(conf))
    assert status == 2 and err.count("\n") == 1, err
    assert "is at revision 0001, not the latest" in err
    assert err.endswith(f": run nfvmon db upgrade --config-file {conf}\n")


def test_a_read_command_with_postgresql_down_is_one_line_without_the_password(tmp_path,
                                                                              capsys):
    port = _closed_port()
    conf = _write_conf(tmp_path, "[database]\nconnection = postgresql+psycopg2://postgres:"
                                 f"sekret-pw@127.0.0.1:{port}/nfvmon\n")
    status, _, err = _run(capsys, "vnf", "list", "--config-file", str(conf))
    assert status == 2 and err.count("\n") == 1, err
    assert err.startswith("cannot reach the database at postgresql+psycopg2://postgres:***@"
                          f"127.0.0.1:{port}/nfvmon: ")
    assert "sekret-pw" not in err


def test_db_upgrade_with_postgresql_down_is_one_line_without_the_password(tmp_path, capsys):
    port = _closed_port()
    conf = _write_conf(tmp_path, "[database]\nconnection = postgresql+psycopg2://postgres:"
                                 f"sekret-pw@127.0.0.1:{port}/nfvmon\n")
    status, out, err = _run(capsys, "db", "upgrade", "--config-file", str(conf))
    assert (status, out) == (2, "")
    assert err.startswith("cannot reach the database at postgresql+psycopg2://postgres:***@"
                          f"127.0.0.1:{port}/nfvmon: ") and err.count("\n") == 1, err
    assert "sekret-pw" not in err


def test_db_upgrade_of_a_file_that_is_not_a_database_is_one_line(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("x" * 200)
    conf = _write_conf(tmp_path, f"[database]\nconnection = sqlite:///{notes}\n")
    status, _, err = _run(capsys, "db", "upgrade", "--config-file", str(conf))
    assert status == 2 and err.count("\n") == 1, err
    assert err.startswith(f"{notes} is not a SQLite database")


def _ready(tmp_path: Path, transport_url: str) -> Path:
    url = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
    upgrade(url)
    return _write_conf(tmp_path, f"transport_url = {transport_url}\n"
                                 f"[database]\nconnection = {url}\n"
                                 "[mistral]\nurl = http://127.0.0.1:9/v2\n")


def test_a_lifecycle_command_with_an_unknown_transport_is_one_line(tmp_path, capsys):
    conf = _ready(tmp_path, "nonsense://x/")
    status, _, err = _run(capsys, "vnf", "delete", "vnf-1", "--config-file", str(conf))
    assert status == 2 and err.count("\n") == 1, err
    assert err.startswith("[DEFAULT] transport_url: no transport driver 'nonsense' "
                          "(installed: ")


def test_a_lifecycle_command_whose_broker_refuses_the_login_is_one_line(tmp_path, capsys):
    conf = _ready(tmp_path, rabbit_url().replace("guest:guest@", "guest:wrong-pw@"))
    status, _, err = _run(capsys, "vim", "deregister", "vim-1", "--config-file", str(conf))
    assert status == 2
    assert err == ("[DEFAULT] transport_url: the broker refused the login (ACCESS_REFUSED): "
                   "check the user name and password\n")


def test_a_lifecycle_command_runs_while_the_broker_is_down(tmp_path, capsys):
    """A kill to a monitor is best-effort (the check-in backstops it): no broker is no
    error."""
    from nfvmon.db.api import Store
    from nfvmon.db.engine import make_engine

    conf = _ready(tmp_path, f"rabbit://guest:guest@127.0.0.1:{_closed_port()}/")
    store = Store(make_engine(f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"))
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"]}, action_id="a1")
    store.close()
    status, out, err = _run(capsys, "vnf", "delete", "vnf-1", "--config-file", str(conf))
    assert (status, out) == (0, "VNF vnf-1 deleted\n"), err
