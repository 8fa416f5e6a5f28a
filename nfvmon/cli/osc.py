"""The `openstack` CLI plugin: `openstack nfvmon vim list`, `openstack nfvmon vnf show ID`, ...

python-openstackclient loads this module from the `openstack.cli.extension` entry point and
the commands from `openstack.nfvmon.v1` (the same classes `nfvmon` runs). nfvmon has no API
behind Keystone: its commands open nfvmon's database and broker from `--config-file` (or
$NFVMON_CONFIG_FILE) and need no authentication (`auth_required = False`), so `make_client`
gives that configuration's services rather than an HTTP client.
"""

from __future__ import annotations

import argparse
import os

API_NAME = "nfvmon"
API_VERSION_OPTION = "os_nfvmon_api_version"
DEFAULT_API_VERSION = "1"
API_VERSIONS = {"1": "nfvmon.cli.osc.Client"}


class Client:
    """nfvmon's services for the configuration files given (None: $NFVMON_CONFIG_FILE)."""

    def __init__(self, config_files: list[str] | None = None):
        from nfvmon.cli.command import config_files as files_of

        self.config_files = config_files or files_of(argparse.Namespace())

    def store(self):
        from nfvmon.cli.services import open_store

        return open_store(self.config_files)

    def lifecycle(self):
        from nfvmon.cli.services import open_lifecycle

        return open_lifecycle(self.config_files)


def make_client(instance) -> Client:
    """What `client_manager.nfvmon` gives other plugins and scripts of the openstack shell."""
    return Client()


def build_option_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--os-nfvmon-api-version", metavar="<nfvmon-api-version>",
                        default=os.environ.get("OS_NFVMON_API_VERSION", DEFAULT_API_VERSION),
                        help=f"nfvmon command set version, default={DEFAULT_API_VERSION} "
                             "(Env: OS_NFVMON_API_VERSION)")
    return parser
