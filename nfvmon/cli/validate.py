"""`nfvmon validate`: workflow files through Mistral's parser and the nfvmon actions' own
input rules; exit 1 when one is not acceptable."""

from __future__ import annotations

import argparse
import sys

from nfvmon.cli.command import EXIT_INVALID, NfvmonCommand


class Validate(NfvmonCommand):
    """Check workflow files with Mistral's parser and the nfvmon actions."""

    takes_config = False

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("files", nargs="+", metavar="WORKFLOW.yaml")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        from nfvmon.generator.validate import mistral_parser_available, problems_in_file

        if not mistral_parser_available():
            print("nfvmon: mistral is not installed: checking nfvmon action inputs only "
                  "(pip install 'nfvmon[mistral]' for Mistral's own parser)", file=sys.stderr)
        status = 0
        for path in parsed_args.files:
            problems = problems_in_file(path)
            for problem in problems:
                print(f"{path}: {problem}", file=sys.stderr)
            if problems:
                status = EXIT_INVALID
            else:
                print(f"{path}: valid")
        return status
