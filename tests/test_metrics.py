"""The conductor's Prometheus metrics: per-VIM and per-VNF gauges read from the database at
scrape time, monitors' check-in age, and the endpoint an operator scrapes."""

from __future__ import annotations

import socket
import urllib.request
from datetime import timedelta

import oslo_messaging as messaging
import pytest

from nfvmon import status_machine as sm
from nfvmon.conductor_rpc.metrics import Metrics
from nfvmon.db.api import VIM, VNF
from nfvmon.db.models import utcnow


def _metrics(store, **kwargs) -> Metrics:
    return Metrics.for_store(store, checkin_grace=kwargs.pop("grace", 180.0), **kwargs)


def _series(metrics: Metrics, name: str) -> dict[tuple, float]:
    """{sorted label items: value} of every sample named `name` at one scrape."""
    return {tuple(sorted(sample.labels.items())): sample.value
            for family in metrics.registry.collect() for sample in family.samples
            if sample.name == name}


def test_vim_up_is_one_when_reachable_zero_when_unreachable_absent_before_a_probe(store):
    for vim_id, status in (("vim-a", "REACHABLE"), ("vim-b", "UNREACHABLE"),
                           ("vim-c", "PENDING")):
        store.create_vim(vim_id, target="127.0.0.1", name=f"lab {vim_id}", status=status)
    metrics = _metrics(store)
    sample = metrics.registry.get_sample_value
    assert sample("nfvmon_vim_up", {"vim_id": "vim-a", "name": "lab vim-a"}) == 1
    assert sample("nfvmon_vim_up", {"vim_id": "vim-b", "name": "lab vim-b"}) == 0
    assert sample("nfvmon_vim_up", {"vim_id": "vim-c", "name": "lab vim-c"}) is None
    assert sample("nfvmon_vim_status",
                  {"vim_id": "vim-c", "name": "lab vim-c", "status": "PENDING"}) == 1
    assert len(_series(metrics, "nfvmon_vim_status")) == 3


def test_vnf_status_has_one_series_per_vnf_that_follows_its_status(store):
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"]}, name="web", action_id="a1")
    store.create_vnf("vnf-2", vdus={"VDU1": ["127.0.0.3"]}, name="db", status="ERROR")
    metrics = _metrics(store)
    assert _series(metrics, "nfvmon_vnf_status") == {
        (("name", "db"), ("status", "ERROR"), ("vnf_id", "vnf-2")): 1,
        (("name", "web"), ("status", "ACTIVE"), ("vnf_id", "vnf-1")): 1}
    store.write_status(VNF, "vnf-1", sm.FAILURE, action_id="a1")
    assert _series(metrics, "nfvmon_vnf_status") == {
        (("name", "db"), ("status", "ERROR"), ("vnf_id", "vnf-2")): 1,
        (("name", "web"), ("status", "DEAD"), ("vnf_id", "vnf-1")): 1}


def test_a_deleted_resource_has_no_series_at_the_next_scrape(store):
    store.create_vim("vim-1", target="127.0.0.1", status="REACHABLE", action_id="a1")
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"]}, action_id="a2")
    metrics = _metrics(store)
    labels = {"resource": "vnf", "resource_id": "vnf-1"}
    assert metrics.registry.get_sample_value("nfvmon_vim_up", {"vim_id": "vim-1", "name": ""})
    assert metrics.registry.get_sample_value("nfvmon_monitor_checkin_age_seconds", labels) >= 0
    assert store.delete_resource(VIM, "vim-1") and store.delete_resource(VNF, "vnf-1")
    assert _series(metrics, "nfvmon_vim_up") == {}
    assert _series(metrics, "nfvmon_vim_status") == {}
    assert _series(metrics, "nfvmon_vnf_status") == {}
    assert _series(metrics, "nfvmon_monitor_checkin_age_seconds") == {}


def test_checkin_age_counts_from_the_last_check_in_and_the_grace_is_exported(store):
    start = utcnow()
    store.create_vim("vim-1", target="127.0.0.1", action_id="a1")
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"]}, action_id="a2")
    store.create_vnf("vnf-off", vdus={"VDU1": ["127.0.0.3"]})  # no action: no monitor runs
    store.check_in("a2", when=start + timedelta(seconds=30))
    later = start + timedelta(seconds=200)
    metrics = _metrics(store, grace=180.0, now=lambda: later)
    age = _series(metrics, "nfvmon_monitor_checkin_age_seconds")
    assert set(age) == {(("resource", "vim"), ("resource_id", "vim-1")),
                        (("resource", "vnf"), ("resource_id", "vnf-1"))}
    # never checked in: counted from its start; checked in: from that check-in
    assert age[(("resource", "vim"), ("resource_id", "vim-1"))] == pytest.approx(200, abs=5)
    assert age[(("resource", "vnf"), ("resource_id", "vnf-1"))] == pytest.approx(170, abs=1)
    assert metrics.registry.get_sample_value("nfvmon_monitor_checkin_grace_seconds") == 180.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_http_endpoint_serves_the_per_resource_series_escaped(store):
    store.create_vim("vim-1", target="127.0.0.1", name='lab "A" \\ east', status="REACHABLE")
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"]}, name="web", status="ERROR")
    metrics = _metrics(store)
    port = _free_port()
    server = metrics.serve(port, "127.0.0.1")
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                      timeout=5).read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert 'nfvmon_vim_up{name="lab \\"A\\" \\\\ east",vim_id="vim-1"} 1.0' in text
    assert 'nfvmon_vnf_status{name="web",status="ERROR",vnf_id="vnf-1"} 1.0' in text
    assert "nfvmon_monitor_checkin_grace_seconds 180.0" in text


def test_the_conductor_exports_the_per_resource_gauges(global_conf, tmp_path):
    from nfvmon.conductor_rpc.server import Conductor
    from nfvmon.db.api import Store
    from nfvmon.db.engine import make_engine
    from nfvmon.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
    upgrade(url)
    store = Store(make_engine(url))
    global_conf.set_override("checkin_interval", 20, group="conductor")
    global_conf.set_override("checkin_missed_limit", 4, group="conductor")
    transport = messaging.get_rpc_transport(global_conf, url="fake://")
    conductor = Conductor(global_conf, transport=transport, store=store)
    try:
        store.create_vim("vim-1", target="127.0.0.1", name="lab", status="UNREACHABLE")
        sample = conductor.metrics.registry.get_sample_value
        assert sample("nfvmon_vim_up", {"vim_id": "vim-1", "name": "lab"}) == 0
        assert sample("nfvmon_monitor_checkin_grace_seconds") == 80
    finally:
        store.close()
        transport.cleanup()
