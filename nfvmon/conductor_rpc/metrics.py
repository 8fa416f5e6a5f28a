"""Prometheus metrics of one conductor (a private registry; HTTP endpoint only if enabled)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily


class Metrics:
    """Resources by status and lost monitors (read from the database at scrape time),
    transitions, policy actions by outcome, and RPC handling time."""

    def __init__(self, statuses: Callable[[], dict[str, dict[str, str]]] | None = None,
                 lost: Callable[[], dict[str, int]] | None = None):
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

    def serve(self, port: int, host: str) -> None:
        start_http_server(port, addr=host, registry=self.registry)


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
