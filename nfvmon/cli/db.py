"""`nfvmon db upgrade`: create nfvmon's database or migrate it to the latest schema."""

from __future__ import annotations

import argparse

from nfvmon.cli.command import NfvmonCommand, config_files
from nfvmon.cli.services import load_config


class UpgradeDb(NfvmonCommand):
    """Create or migrate the schema to the latest revision."""

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        from nfvmon import config
        from nfvmon.db.migrate import current_revision, upgrade

        url = config.database_url(load_config(config_files(parsed_args)))
        upgrade(url)
        print(f"database at revision {current_revision(url)}")
        return 0
