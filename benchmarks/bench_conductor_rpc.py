"""update_vim calls per second: the nfvmon conductor against a bare oslo.messaging server.

    python benchmarks/bench_conductor_rpc.py [--seconds 3] [--rounds 5] [--db URL]

The reference, measured in the same run over the same RabbitMQ (127.0.0.1:5672): a bare RPC
server whose `update_vim` endpoint only returns its argument. Each server runs in its own
process; clients call from 1 and from 16 threads, each thread on its own VIM, alternating
REACHABLE/UNREACHABLE so that every call is a real status change (an UPDATE plus an event
row). Goal: the conductor keeps at least 80% of the bare server's rate.
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

warnings.simplefilter("ignore")

RABBIT = "rabbit://guest:guest@127.0.0.1:5672/"


def serve(kind: str, topic: str, db_url: str) -> None:
    """Child process: run one server until stdin closes."""
    import oslo_messaging as messaging
    from oslo_config import cfg

    from nfvmon import config
    from nfvmon.conductor_rpc.client import conductor_target

    config.register_opts(cfg.CONF)
    cfg.CONF([], project="nfvmon")
    transport = messaging.get_rpc_transport(cfg.CONF, url=RABBIT)
    if kind == "bare":
        class Bare:
            target = messaging.Target(version="1.0")

            def update_vim(self, ctxt, vim_id, status, action_id):
                return status

        server = messaging.get_rpc_server(transport, conductor_target(topic, "bare"), [Bare()],
                                          access_policy=messaging.DefaultRPCAccessPolicy)
        server.start()
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


def measure(topic: str, threads: int, seconds: float) -> float:
    import oslo_messaging as messaging
    from oslo_config import cfg

    from nfvmon.conductor_rpc.client import ConductorAPI

    transport = messaging.get_rpc_transport(cfg.CONF, url=RABBIT)
    api = ConductorAPI(transport, topic=topic, timeout=30)
    counts = [0] * threads
    start = threading.Barrier(threads + 1)
    deadline = [0.0]

    def client(index: int):
        statuses = ("REACHABLE", "UNREACHABLE")
        api.update_vim({}, f"vim-{index}", statuses[1], f"action-{index}")  # warm-up
        start.wait()
        while time.monotonic() < deadline[0]:
            answer = api.update_vim({}, f"vim-{index}", statuses[counts[index] % 2],
                                    f"action-{index}")
            if answer == "bad_action" or answer.startswith("error"):
                raise RuntimeError(answer)
            counts[index] += 1

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    deadline[0] = time.monotonic() + 1e9
    start.wait()
    began = time.monotonic()
    deadline[0] = began + seconds
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - began
    transport.cleanup()
    return sum(counts) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="median of this many")
    parser.add_argument("--db", help="conductor database URL (default: a fresh SQLite file)")
    parser.add_argument("--serve", choices=("bare", "conductor"), help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.topic, args.db)
        return 0

    from oslo_config import cfg

    from nfvmon import config
    from nfvmon.db.api import Store
    from nfvmon.db.engine import make_engine
    from nfvmon.db.migrate import upgrade

    config.register_opts(cfg.CONF)
    cfg.CONF([], project="nfvmon")
    tmp = tempfile.mkdtemp(prefix="nfvmon-bench-")
    db_url = args.db or f"sqlite:///{tmp}/nfvmon.sqlite"
    upgrade(db_url)
    store = Store(make_engine(db_url))
    for index in range(16):
        store.create_vim(f"vim-{index}", target="127.0.0.1", action_id=f"action-{index}")

    children, topics = [], {}
    for kind in ("bare", "conductor"):
        topics[kind] = f"nfvmon_bench_{kind}_{uuid.uuid4().hex[:6]}"
        child = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--topic",
                                  topics[kind], "--db", db_url], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONWARNINGS": "ignore"})
        children.append(child)
        assert child.stdout.readline().strip() == "ready"
    results: dict[str, dict[int, list[float]]] = {"bare": {1: [], 16: []},
                                                  "conductor": {1: [], 16: []}}
    try:
        for n in (1, 16):
            for _ in range(args.rounds):  # alternate, so drift in the broker hits both
                for kind in ("bare", "conductor"):
                    results[kind][n].append(measure(topics[kind], n, args.seconds))
    finally:
        for child in children:
            child.stdin.close()
            child.wait(30)
    spread = {kind: {n: (min(v), max(v)) for n, v in by_n.items()}
              for kind, by_n in results.items()}
    results = {kind: {n: statistics.median(v) for n, v in by_n.items()}
               for kind, by_n in results.items()}

    print(f"update_vim over RabbitMQ: median of {args.rounds} x {args.seconds:g} s, database "
          f"{db_url.split(':')[0]}")
    print(f"{'client threads':>15} {'bare server/s':>14} {'conductor/s':>12} {'ratio':>7}"
          f"   (min-max of the {args.rounds} rounds: bare; conductor)")
    ok = True
    for n in (1, 16):
        bare, conductor = results["bare"][n], results["conductor"][n]
        ratio = conductor / bare
        ok &= ratio >= 0.8
        (bare_lo, bare_hi), (con_lo, con_hi) = spread["bare"][n], spread["conductor"][n]
        print(f"{n:>15} {bare:>14.0f} {conductor:>12.0f} {ratio:>7.0%}   ({bare_lo:.0f}-"
              f"{bare_hi:.0f}; {con_lo:.0f}-{con_hi:.0f})")
    print("goal (conductor >= 80% of bare):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
