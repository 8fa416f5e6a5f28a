"""`nfvmon generate vim|vnf`: a Mistral workflow from a VIM registration file or a VNFD,
printed as YAML (or `-f json`: {"workflow", "name", "action_id"}); nothing else is touched."""

from __future__ import annotations

import argparse
import sys

from nfvmon.cli.command import NfvmonCommand, config_files
from nfvmon.cli.output import workflow_json
from nfvmon.cli.vnf import add_mgmt_ip_option, mgmt_ips
from nfvmon.defaults import RUN_MODES, SYNC


class _Generate(NfvmonCommand):
    config_help = ("nfvmon configuration file whose [monitor] options fill the parameters "
                   "the input leaves out (repeatable)")

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--action-id", metavar="UUID",
                            help="the action id written into the workflow (default: a new "
                                 "UUID4)")
        parser.add_argument("-o", "--output", metavar="OUT",
                            help="write the workflow YAML to OUT (atomically) instead of "
                                 "stdout")
        parser.add_argument("-f", "--format", choices=("yaml", "json"), default="yaml",
                            help='json prints {"workflow", "name", "action_id"} on stdout')
        parser.add_argument("--run-mode", choices=RUN_MODES, default=SYNC,
                            help="sync: the action holds a Mistral executor thread while it "
                                 "runs (default); async: it returns the thread at once, so "
                                 "one executor hosts 1,000+ monitors (see the README)")
        return parser

    @staticmethod
    def monitor_defaults(parsed_args: argparse.Namespace):
        """The operator's [monitor] defaults when a configuration names them (None: built
        in). `generate` stays a pure generator: it reads the file, nothing else."""
        files = config_files(parsed_args)
        if not files:
            return None
        from nfvmon import config

        return config.all_monitor_defaults(config.load(files, setup_logging=False))

    @staticmethod
    def emit(generated, parsed_args: argparse.Namespace) -> int:
        from nfvmon.generator.output import write_atomic

        if parsed_args.output:
            write_atomic(parsed_args.output, generated.text)
        if parsed_args.format == "json":
            sys.stdout.write(workflow_json(generated.as_dict()))
        elif not parsed_args.output:
            sys.stdout.write(generated.text)
        return 0


class GenerateVim(_Generate):
    """Workflow vim_id_<ID> from a VIM registration file."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("config", metavar="CONFIG.yaml")
        parser.add_argument("--vim-id", required=True, metavar="ID")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        from nfvmon.generator import vim_workflow

        generated = vim_workflow(parsed_args.config, parsed_args.vim_id,
                                 parsed_args.action_id, run_mode=parsed_args.run_mode,
                                 monitor_defaults=self.monitor_defaults(parsed_args))
        return self.emit(generated, parsed_args)


class GenerateVnf(_Generate):
    """Workflow vnf_id_<ID> from a TOSCA VNFD."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("vnfd", metavar="VNFD.yaml")
        parser.add_argument("--vnf-id", required=True, metavar="ID")
        add_mgmt_ip_option(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        from nfvmon.generator import vnf_workflow

        generated = vnf_workflow(parsed_args.vnfd, parsed_args.vnf_id,
                                 mgmt_ips(parsed_args.mgmt_ip), parsed_args.action_id,
                                 run_mode=parsed_args.run_mode,
                                 monitor_defaults=self.monitor_defaults(parsed_args))
        return self.emit(generated, parsed_args)
