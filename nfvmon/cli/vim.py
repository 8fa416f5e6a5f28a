"""`nfvmon vim ...` (and `openstack nfvmon vim ...`): register VIMs and watch them."""

from __future__ import annotations

import argparse

from nfvmon.cli.command import NfvmonCommand, NfvmonLister, NfvmonShowOne, config_files
from nfvmon.cli.monitors import (
    ShowWorkflow,
    add_deploy_options,
    check_deploy_output,
    external_teardown,
    registered,
)
from nfvmon.cli.output import EVENT_COLUMNS, VIM_COLUMNS, event_rows, vim_row
from nfvmon.cli.services import open_lifecycle, open_store


def _load_vim_config(path: str):
    from nfvmon.generator.loader import load_yaml_file
    from nfvmon.generator.vim import vim_config_duplicate_is_error

    return load_yaml_file(path, vim_config_duplicate_is_error)


def _known_vim(store, vim_id: str):
    from nfvmon.errors import NfvmonError

    vim = store.get_vim(vim_id)
    if vim is None:
        raise NfvmonError(f"nfvmon: no VIM {vim_id}")
    return vim


class RegisterVim(NfvmonCommand):
    """Register a VIM and start monitoring it; prints its new id."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("config", metavar="CONFIG.yaml")
        parser.add_argument("--name", default="")
        add_deploy_options(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        config = _load_vim_config(parsed_args.config)
        check_deploy_output(parsed_args)
        lifecycle = open_lifecycle(config_files(parsed_args))
        vim_id = lifecycle.register_vim(config, parsed_args.config, name=parsed_args.name,
                                        deployment=parsed_args.deploy)
        return registered(lifecycle, "vim", vim_id, parsed_args)


class UpdateVim(NfvmonCommand):
    """New auth_url or monitor settings: a new monitor replaces the old one."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("resource_id", metavar="ID")
        parser.add_argument("config", metavar="CONFIG.yaml")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        config = _load_vim_config(parsed_args.config)
        lifecycle = open_lifecycle(config_files(parsed_args))
        lifecycle.update_vim(parsed_args.resource_id, config, parsed_args.config)
        print(f"VIM {parsed_args.resource_id} updated")
        return 0


class DeregisterVim(NfvmonCommand):
    """Stop monitoring a VIM and forget it."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("resource_id", metavar="ID")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        removal = open_lifecycle(config_files(parsed_args)).deregister_vim(
            parsed_args.resource_id)
        print(f"VIM {parsed_args.resource_id} "
              + ("deregistered" if removal else "was not registered"))
        return external_teardown(removal)


class VimWorkflow(ShowWorkflow):
    """The workflow of a VIM's current monitor (to deploy it with Mistral's own tools)."""

    kind = "vim"


class ListVims(NfvmonLister):
    """List the registered VIMs and their status."""

    def take_action(self, parsed_args: argparse.Namespace):
        store = open_store(config_files(parsed_args))
        return VIM_COLUMNS, [vim_row(vim) for vim in store.list_vims()]


class ShowVim(NfvmonShowOne):
    """Show one VIM: its target, status and why."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("resource_id", metavar="ID")
        return parser

    def take_action(self, parsed_args: argparse.Namespace):
        store = open_store(config_files(parsed_args))
        return VIM_COLUMNS, vim_row(_known_vim(store, parsed_args.resource_id))


class VimEvents(NfvmonLister):
    """A VIM's events: what its monitor reported and what nfvmon did, oldest first."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("resource_id", metavar="ID")
        return parser

    def take_action(self, parsed_args: argparse.Namespace):
        from nfvmon.db.api import VIM

        store = open_store(config_files(parsed_args))
        _known_vim(store, parsed_args.resource_id)
        return EVENT_COLUMNS, event_rows(store.events(VIM, parsed_args.resource_id))
