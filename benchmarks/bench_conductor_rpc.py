"""update_vim calls per second: the nfvmon conductor against a bare oslo.messaging server.

    python benchmarks/bench_conductor_rpc.py [--seconds 3] [--rounds 5] [--db URL]
                                             [--rpc-workers N]

The reference, measured in the same run over the same RabbitMQ (127.0.0.1:5672): a bare RPC
server whose `update_vim` endpoint only returns its argument, configured like the conductor
(threading executor, a pool of `[conductor] rpc_workers` threads). Each server runs in its own
process; clients call from 1 and from 16 threads, each thread on its own VIM, alternating
REACHABLE/UNREACHABLE so that every call is a real status change (an UPDATE plus an event
row). A round measures both servers in alternating half-second slices (the machine's other
load hits both alike); each figure is the median of the rounds. Goal: the conductor keeps at
least 80% of the bare server's rate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings

from nfvmon import protocol

warnings.simplefilter("ignore")

RABBIT = "rabbit://guest:guest@127.0.0.1:5672/"


def serve(kind: str, topic: str, db_url: str, rpc_workers: int | None) -> None:
    """Child process: run one server until stdin closes."""
    import oslo_messaging as messaging
    from oslo_config import cfg

    from nfvmon import config
    from nfvmon.conductor_rpc.client import conductor_target

    config.register_opts(cfg.CONF)
    cfg.CONF([], project="nfvmon")
    if rpc_workers:
        cfg.CONF.set_override("rpc_workers", rpc_workers, group="conductor")
    transport = messaging.get_rpc_transport(cfg.CONF, url=RABBIT)
    if kind == "bare":
        class Bare:
            target = messaging.Target(version="1.0")

            def update_vim(self, ctxt, vim_id, status, action_id):
                return status

        server = messaging.get_rpc_server(transport, conductor_target(topic, "bare"), [Bare()],
                                          access_policy=messaging.DefaultRPCAccessPolicy)
        # Like with like: the conductor's executor (threading) and pool size.
        server.start(override_pool_size=cfg.CONF.conductor.rpc_workers)
        stop = server
    else:
        from nfvmon.conductor_rpc.server import Conductor

        cfg.CONF.set_override("connection", db_url, group="database")
        cfg.CONF.set_override("topic", topic, group="conductor")
        conductor = Conductor(cfg.CONF, transport=transport)
        conductor.start()
        stop = conductor
    print("ready", flush=True)
    sys.stdin.read()
    stop.stop()
    transport.cleanup()


class Clients:
    """`threads` callers of one server, on one transport kept across measurements."""

    def __init__(self, topic: str, threads: int):
        import oslo_messaging as messaging
        from oslo_config import cfg

        from nfvmon.conductor_rpc.client import ConductorAPI

        self.transport = messaging.get_rpc_transport(cfg.CONF, url=RABBIT)
        self.api = ConductorAPI(self.transport, topic=topic, timeout=30)
        self.threads = threads
        self.calls = 0
        self.elapsed = 0.0

    def run(self, seconds: float) -> None:
        """Call for `seconds`; adds to `calls` and `elapsed`."""
        counts = [0] * self.threads
        start = threading.Barrier(self.threads + 1)
        deadline = [time.monotonic() + 1e9]
        failures: list[BaseException] = []

        def client(index: int):
            statuses = ("REACHABLE", "UNREACHABLE")
            try:
                self.api.update_vim({}, f"vim-{index}", statuses[1], f"action-{index}")
                start.wait()  # after a warm-up call that puts the VIM into UNREACHABLE
                while time.monotonic() < deadline[0]:
                    answer = self.api.update_vim({}, f"vim-{index}",
                                                 statuses[counts[index] % 2], f"action-{index}")
                    if answer == protocol.BAD_ACTION or protocol.is_error(answer):
                        raise RuntimeError(answer)
                    counts[index] += 1
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                failures.append(exc)
                start.abort()

        workers = [threading.Thread(target=client, args=(i,)) for i in range(self.threads)]
        for worker in workers:
            worker.start()
        try:
            start.wait()
        except threading.BrokenBarrierError:
            pass
        began = time.monotonic()
        deadline[0] = began + seconds
        for worker in workers:
            worker.join()
        if failures:
            raise RuntimeError(f"a client thread failed: {failures[0]!r}")
        self.elapsed += time.monotonic() - began
        self.calls += sum(counts)

    def rate(self) -> float:
        return self.calls / self.elapsed


def measure_round(topics: dict[str, str], threads: int, seconds: float) -> dict[str, float]:
    """Each server's rate over `seconds` of calls, measured in alternating slices of half a
    second, so that a burst of load from elsewhere on the machine hits both alike."""
    clients = {kind: Clients(topic, threads) for kind, topic in topics.items()}
    slices = max(1, round(seconds / 0.5))
    for index in range(slices):
        for kind in (sorted(clients) if index % 2 == 0 else sorted(clients, reverse=True)):
            clients[kind].run(seconds / slices)
    for each in clients.values():
        each.transport.cleanup()
    return {kind: each.rate() for kind, each in clients.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="median of this many")
    parser.add_argument("--db", help="conductor database URL (default: a fresh SQLite file)")
    parser.add_argument("--rpc-workers", type=int,
                        help="both servers' pool size (default: [conductor] rpc_workers)")
    parser.add_argument("--serve", choices=("bare", "conductor"), help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.topic, args.db, args.rpc_workers)
        return 0

    import logging

    from oslo_config import cfg

    from nfvmon import config
    from nfvmon.db.api import Store

    # 16 calling threads: oslo.messaging warns of "a leak" at more than 10 reply queues.
    logging.getLogger("oslo_messaging").setLevel(logging.ERROR)
    from nfvmon.db.engine import make_engine
    from nfvmon.db.migrate import upgrade

    config.register_opts(cfg.CONF)
    cfg.CONF([], project="nfvmon")
    rpc_workers = args.rpc_workers or cfg.CONF.conductor.rpc_workers
    tmp = tempfile.mkdtemp(prefix="nfvmon-bench-")
    db_url = args.db or f"sqlite:///{tmp}/nfvmon.sqlite"
    upgrade(db_url)
    store = Store(make_engine(db_url))
    for index in range(16):
        store.delete_resource("vim", f"vim-{index}")  # a --db reused from an earlier run
        store.create_vim(f"vim-{index}", target="127.0.0.1", action_id=f"action-{index}")

    children, topics = [], {}
    for kind in ("bare", "conductor"):
        topics[kind] = f"nfvmon_bench_{kind}_{uuid.uuid4().hex[:6]}"
        child = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--topic",
                                  topics[kind], "--db", db_url,
                                  "--rpc-workers", str(rpc_workers)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONWARNINGS": "ignore"})
        children.append(child)
        assert child.stdout.readline().strip() == "ready"
    results: dict[str, dict[int, list[float]]] = {"bare": {1: [], 16: []},
                                                  "conductor": {1: [], 16: []}}
    ratios: dict[int, list[float]] = {1: [], 16: []}
    try:
        for n in (1, 16):
            for _ in range(args.rounds):
                rates = measure_round(topics, n, args.seconds)
                for kind, rate in rates.items():
                    results[kind][n].append(rate)
                ratios[n].append(rates["conductor"] / rates["bare"])
    finally:
        for child in children:
            child.stdin.close()
            child.wait(30)
    spread = {kind: {n: (min(v), max(v)) for n, v in by_n.items()}
              for kind, by_n in results.items()}
    results = {kind: {n: statistics.median(v) for n, v in by_n.items()}
               for kind, by_n in results.items()}

    print(f"update_vim over RabbitMQ: median of {args.rounds} x {args.seconds:g} s, database "
          f"{db_url.split(':')[0]}; both servers: threading executor, {rpc_workers} worker "
          "threads")
    print(f"{'client threads':>15} {'bare server/s':>14} {'conductor/s':>12} {'ratio':>7}"
          f"   (min-max of the {args.rounds} rounds: bare; conductor; ratio in a round)")
    ok = True
    for n in (1, 16):
        bare, conductor = results["bare"][n], results["conductor"][n]
        ratio = conductor / bare
        ok &= ratio >= 0.8
        (bare_lo, bare_hi), (con_lo, con_hi) = spread["bare"][n], spread["conductor"][n]
        print(f"{n:>15} {bare:>14.0f} {conductor:>12.0f} {ratio:>7.0%}   ({bare_lo:.0f}-"
              f"{bare_hi:.0f}; {con_lo:.0f}-{con_hi:.0f}; {min(ratios[n]):.0%}-"
              f"{max(ratios[n]):.0%})")
    print("goal (conductor >= 80% of bare):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
