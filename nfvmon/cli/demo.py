"""`nfvmon demo`: the whole loop in one process, no broker and no Mistral needed."""

from __future__ import annotations

import argparse
import logging

from nfvmon.cli.command import NfvmonCommand


class Demo(NfvmonCommand):
    """The whole loop in one process: no broker, no Mistral needed."""

    takes_config = False

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--duration", type=float, default=30.0, metavar="SECONDS",
                            help="how long to run (default 30)")
        parser.add_argument("--fail-after", type=float, default=8.0, metavar="SECONDS",
                            help="when to stop the demo VNF's server (default 8)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        from nfvmon.demo import run_demo

        logging.getLogger("nfvmon").setLevel(logging.ERROR)  # the table says it all
        return run_demo(duration=parsed_args.duration, fail_after=parsed_args.fail_after)
