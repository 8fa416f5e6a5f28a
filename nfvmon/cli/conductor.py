"""`nfvmon conductor`: run a conductor (the RPC server) until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading

from nfvmon.cli import logs
from nfvmon.cli.command import NfvmonCommand, config_files


class Conductor(NfvmonCommand):
    """Run a conductor (RPC server)."""

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        from nfvmon import config
        from nfvmon.conductor_rpc.server import serve
        from nfvmon.lifecycle.reconciling import reconciler_lifecycle

        logs.leave_to_oslo()
        serve(config.load(config_files(parsed_args)), reconciler_lifecycle)
        _exit_without_waiting_for_threads()
        return 0


def _exit_without_waiting_for_threads() -> None:
    """Leave now if threads still run: a policy action (its job is in the database and
    resumes at the next start) or an interrupted start-up's broker retries must not keep a
    stopped conductor alive."""
    others = [t for t in threading.enumerate()
              if t is not threading.current_thread() and not t.daemon and t.is_alive()]
    if others:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
