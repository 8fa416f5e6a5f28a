"""The `nfvmon` application: cliff's App with nfvmon's commands, its one-line errors on
stderr (exit 2 for anything a user can fix) and its logging."""

from __future__ import annotations

import argparse
import logging

from cliff.app import App
from cliff.commandmanager import CommandManager

from nfvmon import __version__
from nfvmon.cli import conductor, config, db, demo, generate, logs, validate, vim, vnf
from nfvmon.cli.command import EXIT_INPUT

# `nfvmon <name>`; setup.cfg's openstack.nfvmon.v1 entry points give the vim and vnf ones
# to `openstack nfvmon` (a test keeps the two lists the same)
COMMANDS = {
    "generate vim": generate.GenerateVim,
    "generate vnf": generate.GenerateVnf,
    "validate": validate.Validate,
    "conductor": conductor.Conductor,
    "db upgrade": db.UpgradeDb,
    "config sample": config.ConfigSample,
    "demo": demo.Demo,
    "vim register": vim.RegisterVim,
    "vim update": vim.UpdateVim,
    "vim deregister": vim.DeregisterVim,
    "vim workflow": vim.VimWorkflow,
    "vim list": vim.ListVims,
    "vim show": vim.ShowVim,
    "vim events": vim.VimEvents,
    "vnf create": vnf.CreateVnf,
    "vnf scale": vnf.ScaleVnf,
    "vnf heal": vnf.HealVnf,
    "vnf clear-error": vnf.ClearVnfError,
    "vnf delete": vnf.DeleteVnf,
    "vnf workflow": vnf.VnfWorkflow,
    "vnf list": vnf.ListVnfs,
    "vnf show": vnf.ShowVnf,
    "vnf events": vnf.VnfEvents,
}


class NfvmonApp(App):
    NAME = "nfvmon"
    LOG = logging.getLogger("nfvmon.cli")

    def __init__(self) -> None:
        manager = CommandManager(None)
        for name, command in COMMANDS.items():
            manager.add_command(name, command)
        super().__init__(
            description="Liveness monitoring of VIMs and VNFs on OpenStack Mistral.",
            version=__version__, command_manager=manager)
        self.no_command = False

    def build_option_parser(self, description, version, argparse_kwargs=None):
        parser = super().build_option_parser(description, version,
                                             {**(argparse_kwargs or {}), "prog": self.NAME})
        for action in parser._actions:
            if isinstance(action, argparse._VersionAction):  # cliff names sys.argv[0]
                action.version = f"{self.NAME} {version}"
        return parser

    def configure_logging(self) -> None:
        logs.configure(self.options.verbose_level, self.options.log_file)

    def interact(self) -> None:
        """No command is a usage error (cliff would start a shell reading stdin)."""
        self.parser.print_usage(self.stderr)
        self.stderr.write(f"{self.NAME}: error: give a command ({self.NAME} help lists "
                          f"them)\n")
        self.no_command = True

    def run_subcommand(self, argv: list[str]) -> int:
        """An unknown command is one line on stderr and exit 2, with what was meant."""
        try:
            self.command_manager.find_command(argv)
        except ValueError:
            words = " ".join(word for word in argv if not word.startswith("-"))
            near = [name for name, _ in self.command_manager
                    if name.startswith(argv[0]) and name not in ("complete",)]
            hint = f"; did you mean: {', '.join(sorted(near))}" if near else \
                f" ({self.NAME} help lists them)"
            self.stderr.write(f"{self.NAME}: '{words}' is not a command{hint}\n")
            return EXIT_INPUT
        return super().run_subcommand(argv)

    def run(self, argv: list[str]) -> int:
        status = super().run(argv)
        return EXIT_INPUT if self.no_command else status

