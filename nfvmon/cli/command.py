"""What every nfvmon command shares, under `nfvmon` and under `openstack nfvmon`: the
`--config-file` option (repeatable, after the subcommand; NFVMON_CONFIG_FILE is its default)
and the one error line with exit 2 for anything a user can fix."""

from __future__ import annotations

import argparse
import os
import traceback

from cliff.command import Command
from cliff.lister import Lister
from cliff.show import ShowOne

from nfvmon.cli.output import fit_show_table, unset_max_width
from nfvmon.errors import GeneratorBug, NfvmonError, UsageError

EXIT_INVALID = 1
EXIT_INPUT = 2
EXIT_SOFTWARE = 70

CONFIG_ENV = "NFVMON_CONFIG_FILE"
CONFIG_HELP = ("nfvmon configuration file (repeatable; later files win; default: "
               f"${CONFIG_ENV}, several separated by '{os.pathsep}')")


class NfvmonCommand(Command):
    """Base of nfvmon's commands (a mixin before cliff's Lister/ShowOne)."""

    # osc: nfvmon talks to its own database and broker, never to Keystone
    auth_required = False
    takes_config = True
    config_help = CONFIG_HELP

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        if self.takes_config:
            parser.add_argument("--config-file", action="append", metavar="FILE",
                                help=self.config_help)
        return parser

    def run(self, parsed_args: argparse.Namespace) -> int:
        try:
            return super().run(parsed_args)
        except GeneratorBug as exc:
            self._traceback_if_debug()
            self.app.stderr.write(f"nfvmon: internal error (please report): {exc}\n")
            return EXIT_SOFTWARE
        except NfvmonError as exc:
            self._traceback_if_debug()
            self.app.stderr.write(f"{exc}\n")
            return EXIT_INPUT

    def _traceback_if_debug(self) -> None:
        if getattr(self.app_args, "debug", False):
            self.app.stderr.write(traceback.format_exc())

    def _generate_columns_and_selector(self, parsed_args, column_names):
        """`-c NAME` that names no column is a usage error (exit 2), like a bad option."""
        try:
            return super()._generate_columns_and_selector(parsed_args, column_names)
        except ValueError as exc:
            raise UsageError(f"nfvmon: {exc}") from None


def config_files(parsed_args: argparse.Namespace) -> list[str] | None:
    """The files --config-file names, else those of $NFVMON_CONFIG_FILE, else None."""
    given = getattr(parsed_args, "config_file", None)
    if given:
        return list(given)
    from_env = [path for path in os.environ.get(CONFIG_ENV, "").split(os.pathsep) if path]
    return from_env or None


class NfvmonShowOne(NfvmonCommand, ShowOne):
    """A show command whose table stays readable at 80 columns when piped."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        unset_max_width(parser)
        return parser

    def produce_output(self, parsed_args, column_names, data):
        fit_show_table(parsed_args, self.app.stdout)
        return super().produce_output(parsed_args, column_names, data)


class NfvmonLister(NfvmonCommand, Lister):
    """A list command: cliff's formats and columns, nfvmon's errors and --config-file."""
