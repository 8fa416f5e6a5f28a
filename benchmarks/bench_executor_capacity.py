"""Monitors per Mistral executor: run_mode async against sync (the reference design).

    python benchmarks/bench_executor_capacity.py [--monitors 1000] [--idle-seconds 60]

For each mode, a real Mistral (API and engine in one process, the executor in a process of
its own, executor_thread_pool_size at its default of 64), an nfvmon conductor on RabbitMQ
and SQLite, and --monitors VIMs (--sync-monitors for sync) registered through the
lifecycle, each pinging its own loopback address (127.4.x.y). Then it waits until every VIM
is REACHABLE, or until the count has not grown for --settle-seconds, and measures the
executor's processes during --idle-seconds: CPU, threads, RSS. sync is the reference
design: each action holds an executor thread, so at most 64 monitors run and the rest wait
in Mistral's queue.
Goal: one executor process hosts at least 1,000 monitors.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
warnings.filterwarnings("ignore")

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def group_stats(pgid: int) -> tuple[float, int, float]:
    """(CPU seconds, threads, RSS MiB) of every process in a process group."""
    cpu, threads, rss = 0.0, 0, 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) != pgid:  # field 5 of stat: the process group
                continue
            cpu += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            status = Path(f"/proc/{entry}/status").read_text()
        except (OSError, ValueError):
            continue
        for line in status.splitlines():
            if line.startswith("Threads:"):
                threads += int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss += int(line.split()[1]) / 1024
    return cpu, threads, rss


def loopback(i: int) -> str:
    return f"127.4.{i // 250}.{1 + i % 250}"


def measure(mode: str, monitors: int, args, work: Path) -> dict:
    import oslo_messaging as messaging
    from oslo_config import cfg

    from nfvmon.conductor_rpc.client import MonitorControlAPI
    from nfvmon.conductor_rpc.server import Conductor
    from nfvmon.db.api import Store
    from nfvmon.db.engine import make_engine
    from nfvmon.db.migrate import upgrade
    from nfvmon.lifecycle import Lifecycle, MistralBackend
    from tests.conftest import MistralServer, _pg_admin_connection, rabbit_url

    work.mkdir()
    # Mistral on PostgreSQL: on SQLite its engine fails ("database is locked") under the
    # concurrent registrations.
    database = f"mistral_bench_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_connection()
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{database}"')
    server = MistralServer(work, rabbit_url(), checkin_interval=args.checkin_interval,
                           executor_apart=True,
                           database=f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}")
    server.start()
    db = f"sqlite:///{work / 'nfvmon.sqlite'}"
    upgrade(db)
    store = Store(make_engine(db))
    conf = cfg.CONF
    conf.set_override("connection", db, group="database")
    conf.set_override("topic", server.topic, group="conductor")
    conf.set_override("checkin_interval", args.checkin_interval, group="conductor")
    conf.set_override("reconcile", False, group="conductor")
    transport = messaging.get_rpc_transport(conf, url=rabbit_url())
    conductor = Conductor(conf, transport=transport, store=store)
    conductor.start()
    lifecycle = Lifecycle(store, MistralBackend(server.url), MonitorControlAPI(transport),
                          run_mode=mode)
    config_of = {"auth_url": "", "username": "admin", "password": "pw",
                 "monitor": {"count": 3, "timeout": 1, "interval": 1}}
    try:
        started = time.monotonic()
        with ThreadPoolExecutor(args.register_threads) as pool:
            vim_ids = list(pool.map(
                lambda i: lifecycle.register_vim(
                    {**config_of, "auth_url": f"http://{loopback(i)}:5000/v3"}, "vim.yaml",
                    vim_id=str(uuid.uuid4())),
                range(monitors)))
        registered = time.monotonic() - started
        best, best_at = 0, time.monotonic()
        while True:
            reachable = sum(vim.status == "REACHABLE" for vim in store.list_vims())
            if reachable > best:
                best, best_at = reachable, time.monotonic()
            if reachable == len(vim_ids) or time.monotonic() - best_at > args.settle_seconds:
                break
            time.sleep(1)
        to_reachable = best_at - started
        statuses = collections.Counter(vim.status for vim in store.list_vims())
        cpu_before, _, _ = group_stats(server.executor.pid)
        time.sleep(args.idle_seconds)
        cpu_after, threads, rss = group_stats(server.executor.pid)
        return {"mode": mode, "asked": len(vim_ids), "reachable": best,
                "register_s": registered, "reachable_s": to_reachable, "threads": threads,
                "rss_mib": rss, "cpu_pct": 100 * (cpu_after - cpu_before) / args.idle_seconds,
                "statuses": dict(statuses)}
    finally:
        conductor.stop()
        server.stop()
        transport.cleanup()
        store.close()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--sync-monitors", type=int, default=200,
                        help="monitors asked of sync mode (enough to show its limit)")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--settle-seconds", type=float, default=30.0)
    parser.add_argument("--checkin-interval", type=int, default=60)
    parser.add_argument("--register-threads", type=int, default=8)
    parser.add_argument("--modes", nargs="+", default=["async", "sync"],
                        choices=["async", "sync"])
    parser.add_argument("--keep", metavar="DIR",
                        help="work in DIR and keep it (Mistral's logs and databases)")
    args = parser.parse_args()

    from oslo_config import cfg

    from nfvmon import config

    config.register_opts(cfg.CONF)
    cfg.CONF([], project="nfvmon")
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.keep or scratch)
        for mode in args.modes:
            count = args.monitors if mode == "async" else args.sync_monitors
            results.append(measure(mode, count, args, work / mode))
    print(f"{'mode':<6} {'monitors':>8} {'REACHABLE':>9} {'register s':>10} "
          f"{'to reach s':>10} {'executor threads':>16} {'RSS MiB':>8} {'idle CPU %':>10}")
    for r in results:
        print(f"{r['mode']:<6} {r['asked']:>8} {r['reachable']:>9} {r['register_s']:>10.1f} "
              f"{r['reachable_s']:>10.1f} {r['threads']:>16} {r['rss_mib']:>8.0f} "
              f"{r['cpu_pct']:>10.1f}   {r['statuses']}")
    ours = next((r for r in results if r["mode"] == "async"), None)
    if ours is not None:
        met = ours["reachable"] >= min(1000, args.monitors)
        print(f"goal (async: >= 1,000 monitors in one executor process): "
              f"{'met' if met else 'NOT met'} ({ours['reachable']} of {ours['asked']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
