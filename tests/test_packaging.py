"""A non-editable install carries the templates and schemas and works away from the source."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest
import yaml

from tests.conftest import ROOT, SAMPLES


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(out), str(ROOT)], check=True, capture_output=True)
    (path,) = out.glob("nfvmon-*.whl")
    return path


def test_wheel_ships_templates_schemas_and_entry_points(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        entry_text = archive.read(entry_points).decode()
    assert "nfvmon/workflows/templates/vim_monitor.yaml.j2" in names
    assert "nfvmon/workflows/templates/vnf_monitor.yaml.j2" in names
    assert "nfvmon/generator/schemas/vim_config.schema.json" in names
    assert "nfvmon/generator/schemas/vnfd_monitoring.schema.json" in names
    assert "[mistral.actions]" in entry_text and "nfvmon.vim_ping_action" in entry_text
    assert not any(name.startswith("tests/") for name in names)


def test_wheel_ships_the_license_and_the_operators_files(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert any(name.endswith(".dist-info/licenses/LICENSE") or
               name.endswith(".dist-info/LICENSE") for name in names), sorted(names)
    data = {name.split(".data/data/", 1)[1] for name in names if ".data/data/" in name}
    assert data == {
        "share/nfvmon/nfvmon.conf.sample", "share/nfvmon/logging.conf.sample",
        "share/nfvmon/systemd/nfvmon-conductor.service",
        "share/nfvmon/systemd/mistral-executor.service.d/nfvmon.conf",
        "share/nfvmon/prometheus/nfvmon-alerts.yaml", "share/nfvmon/grafana/nfvmon.json"}


def test_installed_wheel_generates_outside_the_source_tree(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(target), str(wheel)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import sys, nfvmon, nfvmon.cli; "
            "assert nfvmon.__file__.startswith(sys.argv[1]), nfvmon.__file__; "
            "sys.exit(nfvmon.cli.main(sys.argv[2:]))")
    result = subprocess.run(
        [sys.executable, "-c", code, str(target), "generate", "vnf",
         str(SAMPLES / "vnfd-ping-and-http.yaml"), "--vnf-id", "v",
         "--mgmt-ip", "VDU1=127.0.0.2", "--mgmt-ip", "VDU2=127.0.0.3"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "vnf_id_v" in yaml.safe_load(result.stdout)


def test_loading_the_action_classes_leaves_the_probe_engine_unimported():
    """Mistral imports the action classes on its engine too (it calls `is_sync()` there):
    that must not pull in aiohttp, the ICMP prober or the monitors."""
    code = ("import sys, nfvmon.actions.vim_ping, nfvmon.actions.vnf_policy_monitor; "
            "print(sorted(m for m in sys.modules if m == 'aiohttp' or m.startswith("
            "('nfvmon.actions.probes', 'nfvmon.actions.runtime', 'nfvmon.actions.monitor'))))")
    loaded = subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True,
                            capture_output=True, text=True).stdout.strip()
    assert loaded == "[]"


# --- what the operator installs next to the package: units, alert rules, dashboard --------

ETC = ROOT / "etc"
#: Suffixes prometheus_client adds to a family's name, by the family's type.
SAMPLE_SUFFIXES = {"counter": ("_total", "_created"),
                   "histogram": ("_bucket", "_sum", "_count", "_created")}
#: PromQL words that are no metric names (functions are recognised by their "(").
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                "or", "unless", "offset", "inf", "nan"}
#: Series Prometheus makes itself for every scrape target.
SCRAPE_SERIES = {"up"}


def _exported_names(tmp_path) -> set[str]:
    """Every sample name a conductor's registry can export, from a live one over a store
    holding a VIM and a VNF with monitors."""
    from nfvmon.conductor_rpc.metrics import Metrics
    from nfvmon.db.api import Store
    from nfvmon.db.engine import make_engine
    from nfvmon.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
    upgrade(url)
    store = Store(make_engine(url))
    try:
        store.create_vim("vim-1", target="127.0.0.1", status="REACHABLE", action_id="a1")
        store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"]}, action_id="a2")
        names = set()
        for family in Metrics.for_store(store, checkin_grace=180).registry.collect():
            names.add(family.name)
            names.update(family.name + suffix for suffix in SAMPLE_SUFFIXES.get(family.type, ()))
            names.update(sample.name for sample in family.samples)
        return names
    finally:
        store.close()


def _metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers, strings, durations and
    grouping clauses removed; identifiers followed by "(" are functions)."""
    import re

    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables ($__rate_interval, ...)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        if not match.group(2) and match.group(1).lower() not in PROMQL_WORDS:
            names.add(match.group(1))
    return names


def _dashboard_queries() -> list[str]:
    import json

    dashboard = json.loads((ETC / "grafana" / "nfvmon.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"]
               for target in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            query = query["query"] if isinstance(query, dict) else query
            queries.append(query.replace("label_values(", "(").rsplit(",", 1)[0] + ")")
    return queries


def test_metric_names_are_read_from_promql():
    assert _metric_names('max by (vim_id, name) (nfvmon_vim_up{name=~"$vim"}) == 0') == {
        "nfvmon_vim_up"}
    assert _metric_names("histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m]))) "
                         "/ ignoring (a) group_left y_total offset 5m") == {"x_bucket", "y_total"}


def test_the_dashboard_queries_only_metrics_the_conductor_exports(tmp_path):
    exported = _exported_names(tmp_path)
    queries = _dashboard_queries()
    used = set().union(*(_metric_names(query) for query in queries))
    assert len(queries) >= 10
    assert {"nfvmon_vim_up", "nfvmon_vnf_status", "nfvmon_monitor_checkin_age_seconds",
            "nfvmon_rpc_seconds_bucket"} <= used
    assert used - exported - SCRAPE_SERIES == set()


def test_the_alert_rules_query_only_metrics_the_conductor_exports(tmp_path):
    rules = yaml.safe_load((ETC / "prometheus" / "nfvmon-alerts.yaml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    used = set().union(*(_metric_names(expr) for expr in exprs))
    assert used - _exported_names(tmp_path) - SCRAPE_SERIES == set()
    assert {rule["alert"] for group in rules["groups"] for rule in group["rules"]} >= {
        "NfvmonVimUnreachable", "NfvmonVnfError", "NfvmonMonitorMissingCheckins",
        "NfvmonConductorDown"}


def _tool(name: str, package: str) -> str:
    import shutil

    from tests.conftest import unavailable

    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (Debian package {package})")
    return path


def test_promtool_checks_the_alert_rules_and_their_unit_tests():
    promtool = _tool("promtool", "prometheus")
    for args in (["check", "rules", str(ETC / "prometheus" / "nfvmon-alerts.yaml")],
                 ["test", "rules", str(ROOT / "tests" / "prometheus" /
                                       "nfvmon-alerts.test.yaml")]):
        result = subprocess.run([promtool, *args], capture_output=True, text=True,
                                check=False, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr


def test_systemd_units_verify(tmp_path):
    """systemd-analyze verify: every key known, the drop-in loaded (its output must be
    empty). The conductor's ExecStart path is pointed at this environment's nfvmon, since
    verify checks that the binary exists; User=nfvmon is not checked by verify."""
    analyze = _tool("systemd-analyze", "systemd")
    nfvmon = os.path.join(os.path.dirname(sys.executable), "nfvmon")
    unit = (ETC / "systemd" / "nfvmon-conductor.service").read_text()
    assert "ExecStart=/opt/nfvmon/bin/nfvmon conductor --config-file /etc/nfvmon/nfvmon.conf" \
        in unit
    (tmp_path / "nfvmon-conductor.service").write_text(
        unit.replace("/opt/nfvmon/bin/nfvmon", nfvmon))
    # Mistral's executor unit as a stand-in, with nfvmon's drop-in beside it.
    (tmp_path / "mistral-executor.service").write_text("[Service]\nExecStart=/bin/true\n")
    dropins = tmp_path / "mistral-executor.service.d"
    dropins.mkdir()
    (dropins / "nfvmon.conf").write_text(
        (ETC / "systemd" / "mistral-executor.service.d" / "nfvmon.conf").read_text())
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(tmp_path / "nfvmon-conductor.service"),
         str(tmp_path / "mistral-executor.service")],
        env={**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"}, cwd=tmp_path,
        capture_output=True, text=True, check=False, timeout=60)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def _unit(path) -> dict[str, list[str]]:
    """`key=value` lines of a unit file (comments and sections dropped), by key."""
    keys: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def test_the_conductor_runs_as_its_own_user_with_its_state_under_var_lib_nfvmon():
    unit = _unit(ETC / "systemd" / "nfvmon-conductor.service")
    assert unit["User"] == ["nfvmon"] and unit["Group"] == ["nfvmon"]
    assert unit["StateDirectory"] == ["nfvmon"]  # /var/lib/nfvmon
    assert unit["Restart"] == ["on-failure"] and unit["NoNewPrivileges"] == ["yes"]
    dropin = _unit(ETC / "systemd" / "mistral-executor.service.d" / "nfvmon.conf")
    assert dropin["Environment"] == ["NFVMON_CONFIG_FILE=/etc/nfvmon/nfvmon.conf"]
    assert dropin["AmbientCapabilities"] == ["CAP_NET_RAW"]


def test_the_logging_example_is_what_oslo_log_reads(tmp_path):
    """nfvmon.conf's log_config_append names it: oslo.log configures logging from it."""
    text = (ETC / "logging.conf.sample").read_text().replace(
        "/var/log/nfvmon/nfvmon.log", str(tmp_path / "nfvmon.log"))
    (tmp_path / "logging.conf").write_text(text)
    (tmp_path / "nfvmon.conf").write_text(
        f"[DEFAULT]\nlog_config_append = {tmp_path / 'logging.conf'}\n")
    code = ("import logging, sys; from nfvmon import config; config.load([sys.argv[1]]); "
            "logging.getLogger('nfvmon.conductor_rpc.server').info('conductor %s ready', 'c1'); "
            "logging.getLogger('nfvmon.db').debug('not shown'); "
            "logging.getLogger('sqlalchemy.engine').info('SELECT 1')")
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code,
                             str(tmp_path / "nfvmon.conf")],
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    logged = (tmp_path / "nfvmon.log").read_text().splitlines()
    assert len(logged) == 1 and logged[0].endswith(
        " INFO nfvmon.conductor_rpc.server conductor c1 ready"), logged
    assert result.stderr.splitlines() == logged
