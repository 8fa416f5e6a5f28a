"""`nfvmon vnf ...` (and `openstack nfvmon vnf ...`): onboard VNFs, follow them, heal them."""

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
from nfvmon.cli.output import EVENT_COLUMNS, VNF_COLUMNS, event_rows, vnf_row
from nfvmon.cli.services import load_config, open_lifecycle, open_store


def add_mgmt_ip_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mgmt-ip", action="append", required=True, metavar="VDU=IP",
                        help="a VDU's management address; repeat for several VDUs or "
                             "addresses")


def mgmt_ips(values: list[str]) -> dict[str, list[str]]:
    from nfvmon.generator.vnf import group_mgmt_ips
    from nfvmon.identifiers import parse_mgmt_ip_option

    return group_mgmt_ips(parse_mgmt_ip_option(value) for value in values)


def _with_id(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("resource_id", metavar="ID")
    return parser


def _known_vnf(store, vnf_id: str):
    from nfvmon.errors import NfvmonError

    vnf = store.get_vnf(vnf_id)
    if vnf is None:
        raise NfvmonError(f"nfvmon: no VNF {vnf_id}")
    return vnf


class CreateVnf(NfvmonCommand):
    """Onboard a VNF and start monitoring it; prints its new id."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("vnfd", metavar="VNFD.yaml")
        add_mgmt_ip_option(parser)
        parser.add_argument("--name", default="")
        add_deploy_options(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        from nfvmon.generator import tosca
        from nfvmon.generator.loader import load_yaml_text, read_text

        ips = mgmt_ips(parsed_args.mgmt_ip)
        text = read_text(parsed_args.vnfd)
        vnfd = load_yaml_text(text, parsed_args.vnfd, tosca.vnfd_duplicate_is_error)
        check_deploy_output(parsed_args)
        lifecycle = open_lifecycle(config_files(parsed_args))
        vnf_id = lifecycle.create_vnf(vnfd, parsed_args.vnfd, ips, name=parsed_args.name,
                                      vnfd_text=text, deployment=parsed_args.deploy)
        return registered(lifecycle, "vnf", vnf_id, parsed_args)


class ScaleVnf(NfvmonCommand):
    """New management IPs of VDUs after a scale-out or -in: a new monitor replaces the old."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = _with_id(super().get_parser(prog_name))
        add_mgmt_ip_option(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        ips = mgmt_ips(parsed_args.mgmt_ip)
        open_lifecycle(config_files(parsed_args)).scale_vnf(parsed_args.resource_id, ips)
        print(f"VNF {parsed_args.resource_id} now monitored at "
              + "; ".join(f"{vdu}: {', '.join(vdu_ips)}" for vdu, vdu_ips in ips.items()))
        return 0


class HealVnf(NfvmonCommand):
    """Heal one VDU through the VNF manager, then monitor it afresh."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = _with_id(super().get_parser(prog_name))
        parser.add_argument("--vdu", required=True)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        from nfvmon.conductor_rpc.vnf_managers import load_manager

        files = config_files(parsed_args)
        lifecycle = open_lifecycle(files)
        conf = load_config(files)
        lifecycle.heal_vnf(parsed_args.resource_id, parsed_args.vdu, load_manager(conf),
                           timeout=conf.conductor.policy_action_timeout)
        print(f"VNF {parsed_args.resource_id}: VDU {parsed_args.vdu} healed")
        return 0


class ClearVnfError(NfvmonCommand):
    """Lift a VNF's cooldown ERROR."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        return _with_id(super().get_parser(prog_name))

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        from nfvmon.errors import NfvmonError

        vnf_id = parsed_args.resource_id
        written = open_store(config_files(parsed_args), write=True).clear_vnf_error(vnf_id)
        if written.changed:
            print(f"VNF {vnf_id}: ERROR cleared, now ACTIVE")
            return 0
        if written.refused:
            raise NfvmonError(f"nfvmon: no VNF {vnf_id}")
        raise NfvmonError(f"nfvmon: VNF {vnf_id} is {written.status}, not ERROR")


class DeleteVnf(NfvmonCommand):
    """Stop monitoring a VNF and forget it."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        return _with_id(super().get_parser(prog_name))

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        removal = open_lifecycle(config_files(parsed_args)).delete_vnf(parsed_args.resource_id)
        print(f"VNF {parsed_args.resource_id} " + ("deleted" if removal else "did not exist"))
        return external_teardown(removal)


class VnfWorkflow(ShowWorkflow):
    """The workflow of a VNF's current monitor (to deploy it with Mistral's own tools)."""

    kind = "vnf"


class ListVnfs(NfvmonLister):
    """List the monitored VNFs, their management IPs and status."""

    def take_action(self, parsed_args: argparse.Namespace):
        store = open_store(config_files(parsed_args))
        return VNF_COLUMNS, [vnf_row(vnf) for vnf in store.list_vnfs()]


class ShowVnf(NfvmonShowOne):
    """Show one VNF: its VDUs' management IPs, status and why."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        return _with_id(super().get_parser(prog_name))

    def take_action(self, parsed_args: argparse.Namespace):
        store = open_store(config_files(parsed_args))
        return VNF_COLUMNS, vnf_row(_known_vnf(store, parsed_args.resource_id))


class VnfEvents(NfvmonLister):
    """A VNF's events: failures, respawns, heals and status changes, oldest first."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        return _with_id(super().get_parser(prog_name))

    def take_action(self, parsed_args: argparse.Namespace):
        from nfvmon.db.api import VNF

        store = open_store(config_files(parsed_args))
        _known_vnf(store, parsed_args.resource_id)
        return EVENT_COLUMNS, event_rows(store.events(VNF, parsed_args.resource_id))
