"""`nfvmon conductor`: the oslo.messaging RPC server that owns the database.

Target: topic `[conductor] topic` (default nfvmon_conductor), exchange `nfvmon`, version
1.0, server `[DEFAULT] host`, threading executor (oslo.messaging's default and, since
eventlet's deprecation, its only one: passing `executor=` only earns a warning). Several
conductors on one topic share the calls; PostgreSQL lets them share the state too.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import oslo_messaging as messaging

from nfvmon import config, mistral_api
from nfvmon.conductor_rpc import client, states
from nfvmon.conductor_rpc.broker_watch import BrokerWatch, self_call
from nfvmon.conductor_rpc.endpoints import ConductorEndpoint
from nfvmon.conductor_rpc.metrics import Metrics
from nfvmon.conductor_rpc.periodic import Periodic
from nfvmon.conductor_rpc.policy_actions import load_policy_actions
from nfvmon.conductor_rpc.policy_runner import PolicyRunner
from nfvmon.conductor_rpc.reconciler import Reconciler, mark_lost_monitors
from nfvmon.conductor_rpc.transport import refusal, rpc_transport
from nfvmon.conductor_rpc.vnf_managers import load_manager
from nfvmon.db.api import Store
from nfvmon.db.engine import make_engine
from nfvmon.db.migrate import check_schema

LOG = logging.getLogger(__name__)

#: Seconds the broker has to carry the conductor's call to its own topic and back.
BROKER_PROBE_TIMEOUT = 10


def heal_policy(conf) -> states.HealPolicy:
    c = conf.conductor
    return states.HealPolicy(max_attempts=c.max_heal_attempts,
                             backoff_initial=c.heal_backoff_initial,
                             backoff_max=c.heal_backoff_max,
                             reset_after=max(c.heal_backoff_max, c.checkin_interval) * 2)


class Conductor:
    """One conductor: RPC server, policy runner, metrics; start() and stop()."""

    def __init__(self, conf, transport: messaging.Transport | None = None,
                 store: Store | None = None,
                 lifecycle_factory: Callable[..., Any] | None = None):
        """`lifecycle_factory(conf, store, transport)`: the lifecycle its reconciler
        re-creates monitors through (nfvmon.lifecycle.reconciling); without one, or without
        Mistral configured, there is no reconciler."""
        self.conf = conf
        self.transport = transport or messaging.get_rpc_transport(conf)
        self.store = store or Store(make_engine(config.database_url(conf)))
        self.metrics = Metrics.for_store(self.store, checkin_grace=(
            conf.conductor.checkin_interval * conf.conductor.checkin_missed_limit))
        self.runner = PolicyRunner(
            self.store, load_policy_actions(conf), load_manager(conf), heal_policy(conf),
            workers=conf.conductor.policy_workers,
            timeout=conf.conductor.policy_action_timeout,
            control=client.MonitorControlAPI(self.transport),
            on_outcome=lambda action, outcome: self.metrics.policy_actions.labels(
                action, outcome).inc(),
            owner=conf.host, max_running=conf.conductor.max_running_policy_actions)
        # In every conductor, Mistral or not: policy jobs whose conductor died are taken
        # over, and silent externally deployed monitors are reported lost.
        grace = timedelta(seconds=conf.conductor.checkin_interval *
                          conf.conductor.checkin_missed_limit)
        # Silence means something only while the broker carries check-ins, and one grace
        # period after it came back: asked of the broker itself, by a call to our topic.
        self.broker_watch = BrokerWatch(
            self_call(client.ConductorAPI(self.transport, topic=conf.conductor.topic,
                                          timeout=BROKER_PROBE_TIMEOUT)),
            grace=grace.total_seconds())
        self.job_recovery = Periodic("conductor-rounds", conf.conductor.reconcile_interval,
                                     lambda: (self.runner.recover(),
                                              self.broker_watch.settled()
                                              and mark_lost_monitors(self.store, grace)))
        self.endpoint = ConductorEndpoint(self.store, self.runner, self.metrics)
        self.reconciler = (self._reconciler(conf, lifecycle_factory)
                           if lifecycle_factory is not None and conf.conductor.reconcile
                           and mistral_api.configured(conf) else None)
        self.server = messaging.get_rpc_server(
            self.transport, client.conductor_target(conf.conductor.topic, conf.host),
            [self.endpoint], access_policy=messaging.DefaultRPCAccessPolicy)

    def _reconciler(self, conf, lifecycle_factory) -> Reconciler:
        lifecycle = lifecycle_factory(conf, self.store, self.transport)
        return Reconciler(lifecycle, checkin_interval=conf.conductor.checkin_interval,
                          missed_limit=conf.conductor.checkin_missed_limit,
                          interval=conf.conductor.reconcile_interval,
                          workers=conf.conductor.reconcile_workers,
                          settled=self.broker_watch.settled)

    def start(self) -> None:
        if self.conf.conductor.metrics_port:
            self.metrics.serve(self.conf.conductor.metrics_port, self.conf.conductor.metrics_host)
        # The pool size, without touching [DEFAULT] executor_thread_pool_size (64 by default),
        # which other oslo.messaging servers in this process may rely on.
        self.server.start(override_pool_size=self.conf.conductor.rpc_workers)
        # Jobs this host left behind in an earlier life (a crash, a kill -9): redo them now.
        self.runner.recover(own=True)
        self.job_recovery.start()
        if self.reconciler is not None:
            self.reconciler.start()
        LOG.info("conductor %s listening on topic %s", self.conf.host,
                 self.conf.conductor.topic)

    def stop(self) -> None:
        self.job_recovery.stop()
        if self.reconciler is not None:
            self.reconciler.stop()
        self.server.stop()
        self.server.wait()
        self.runner.shutdown(wait=False)


STOP_GRACE = 3.0  # seconds the broker may take to let go before the process leaves anyway


def serve(conf, lifecycle_factory: Callable[..., Any] | None = None) -> None:
    """Run a conductor until SIGTERM or SIGINT; either ends it within seconds in any state.

    Start-up runs on a thread of its own: the database check, then the broker, which
    oslo.messaging retries for as long as it is down (in the calling thread, deaf to
    signals). A signal meanwhile returns at once, without a conductor; a failed start-up
    raises its one-line error here. Stopping is bounded by STOP_GRACE: a broker gone away
    must not keep the process alive. Running policy actions are not waited for.
    """
    wake = threading.Event()
    signalled: list[int] = []

    def on_signal(signum, _frame):
        signalled.append(signum)
        wake.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    started: dict = {}

    def start():
        try:
            started["conductor"] = _start(conf, lifecycle_factory)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            started["error"] = exc
        wake.set()

    threading.Thread(target=start, name="conductor-start", daemon=True).start()
    while not signalled and not started:
        wake.wait()
    if "error" in started and not signalled:
        raise started["error"]
    wake.clear()  # a signal from now on sets it again
    while not signalled:
        wake.wait()
    conductor = started.get("conductor")
    if conductor is None:
        LOG.info("conductor %s stopping before its start-up completed", conf.host)
        return
    LOG.info("conductor %s stopping", conf.host)
    stopper = threading.Thread(target=_stop, args=(conductor,), name="conductor-stop",
                               daemon=True)
    stopper.start()
    stopper.join(STOP_GRACE)
    if stopper.is_alive():
        LOG.warning("conductor %s: the broker did not let go within %g s; leaving anyway",
                    conf.host, STOP_GRACE)


def _start(conf, lifecycle_factory) -> Conductor:
    """Check the database, then start serving; a refused broker login is a BrokerNotReady."""
    check_schema(config.database_url(conf), write=True,
                 upgrade_command=config.upgrade_command(conf))
    LOG.info("conductor %s starting: database ready, connecting to the broker", conf.host)
    if conf.debug:
        conf.log_opt_values(LOG, logging.DEBUG)
    conductor = Conductor(conf, transport=rpc_transport(conf),
                          lifecycle_factory=lifecycle_factory)
    try:
        conductor.start()
    except Exception as exc:
        refused = refusal(exc)
        if refused is not None:
            raise refused from None
        raise
    return conductor


def _stop(conductor: Conductor) -> None:
    conductor.stop()
    conductor.transport.cleanup()
