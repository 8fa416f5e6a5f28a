"""Prometheus metrics of one conductor (a private registry; HTTP endpoint only if enabled).

What describes resources is read from the database at scrape time, never kept in the
process: every conductor on one database exports the same values, a resource deleted by any
of them (or by the CLI) has no series from the next scrape on, and label sets stay bounded
by the rows that exist (ids at most 128 characters, names 255, statuses from fixed lists).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily

from nfvmon import statuses as st

#: (id, name, status) of each resource of one kind.
Rows = list[tuple[str, str, str]]
#: (resource type, resource id, last check-in or start) of each monitor with an action.
Checkins = list[tuple[str, str, datetime | None]]

#: nfvmon_vim_up's value per VIM status; a VIM in any other status (PENDING: not probed
#: yet) has no nfvmon_vim_up series, only its nfvmon_vim_status one.
VIM_UP = {st.VIM_REACHABLE: 1, st.VIM_UNREACHABLE: 0}


class Metrics:
    """Resources by status, per VIM and per VNF, monitors' check-in age and lost monitors
    (read from the database at scrape time), transitions, policy actions by outcome, and
    RPC handling time."""

    def __init__(self, statuses: Callable[[], dict[str, dict[str, str]]] | None = None,
                 lost: Callable[[], dict[str, int]] | None = None, *,
                 resources: Callable[[str], Rows] | None = None,
                 checkins: Callable[[], Checkins] | None = None,
                 checkin_grace: float | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.registry = CollectorRegistry()
        self.transitions = Counter(
            "nfvmon_status_transitions", "Status changes written", ["resource", "to"],
            registry=self.registry)
        self.policy_actions = Counter(
            "nfvmon_policy_actions", "Policy actions run, by outcome", ["action", "outcome"],
            registry=self.registry)
        self.rpc_seconds = Histogram(
            "nfvmon_rpc_seconds", "Time to handle an RPC call", ["method"],
            registry=self.registry)
        if statuses is not None:
            self.registry.register(_StatusCollector(statuses))
        if lost is not None:
            self.registry.register(_LostCollector(lost))
        if resources is not None:
            self.registry.register(_ResourceCollector(resources))
        if checkins is not None:
            self.registry.register(_CheckinCollector(checkins, checkin_grace, now))

    @classmethod
    def for_store(cls, store, checkin_grace: float,
                  now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Metrics:
        """Every metric the conductor exports, over `store` (a nfvmon.db.api.Store)."""
        return cls(lambda: {kind: store.statuses(kind) for kind in ("vim", "vnf")},
                   lost=store.lost_monitors, resources=store.status_rows,
                   checkins=store.monitor_checkins, checkin_grace=checkin_grace, now=now)

    def serve(self, port: int, host: str):
        """Start the HTTP endpoint on its own thread; returns the server (shutdown() ends it)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server


class _StatusCollector:
    def __init__(self, statuses: Callable[[], dict[str, dict[str, str]]]):
        self._statuses = statuses

    def collect(self):
        family = GaugeMetricFamily("nfvmon_resources", "Resources by status",
                                   labels=["resource", "status"])
        for resource, by_id in self._statuses().items():
            counts: dict[str, int] = {}
            for status in by_id.values():
                counts[status] = counts.get(status, 0) + 1
            for status, count in sorted(counts.items()):
                family.add_metric([resource, status], count)
        yield family


class _LostCollector:
    """Monitors that stopped checking in and that nfvmon does not re-create (external)."""

    def __init__(self, lost: Callable[[], dict[str, int]]):
        self._lost = lost

    def collect(self):
        family = GaugeMetricFamily("nfvmon_monitors_lost", "Monitors found silent and not "
                                   "re-created by nfvmon (deployed externally)",
                                   labels=["resource"])
        counts = self._lost()
        for resource in ("vim", "vnf"):
            family.add_metric([resource], counts.get(resource, 0))
        yield family


class _ResourceCollector:
    """One series per VIM and per VNF, so an operator can alert on one of them."""

    def __init__(self, rows: Callable[[str], Rows]):
        self._rows = rows

    def collect(self):
        up = GaugeMetricFamily("nfvmon_vim_up", "1 if the VIM's endpoint answers (REACHABLE), "
                               "0 if not (UNREACHABLE); no series before its first probe",
                               labels=["vim_id", "name"])
        vim_status = GaugeMetricFamily("nfvmon_vim_status", "1 for the VIM's current status",
                                       labels=["vim_id", "name", "status"])
        for vim_id, name, status in self._rows("vim"):
            vim_status.add_metric([vim_id, name, status], 1)
            if status in VIM_UP:
                up.add_metric([vim_id, name], VIM_UP[status])
        vnf_status = GaugeMetricFamily("nfvmon_vnf_status", "1 for the VNF's current status",
                                       labels=["vnf_id", "name", "status"])
        for vnf_id, name, status in self._rows("vnf"):
            vnf_status.add_metric([vnf_id, name, status], 1)
        yield from (up, vim_status, vnf_status)


class _CheckinCollector:
    """How long each monitor has been silent, and how long it may be (the grace past which
    the reconciler re-creates it or marks it lost): their difference is the alert."""

    def __init__(self, checkins: Callable[[], Checkins], grace: float | None,
                 now: Callable[[], datetime]):
        self._checkins = checkins
        self._grace = grace
        self._now = now

    def collect(self):
        age = GaugeMetricFamily("nfvmon_monitor_checkin_age_seconds",
                                "Seconds since the monitor's current action last checked in "
                                "(or was started, before its first check-in)",
                                labels=["resource", "resource_id"])
        now = self._now()
        for resource, resource_id, seen in self._checkins():
            if seen is not None:
                age.add_metric([resource, resource_id], max(0.0, (now - seen).total_seconds()))
        yield age
        if self._grace is not None:
            yield GaugeMetricFamily("nfvmon_monitor_checkin_grace_seconds",
                                    "checkin_interval x checkin_missed_limit: a monitor silent "
                                    "longer than this has missed its check-ins",
                                    value=self._grace)
