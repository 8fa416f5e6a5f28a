"""`nfvmon config sample`: the sample configuration, made from the options this install
has (what etc/nfvmon.conf.sample holds in the source tree), so a wheel needs no data file."""

from __future__ import annotations

import argparse
import io
import sys

from nfvmon.cli.command import NfvmonCommand

# as etc/oslo-config-generator/nfvmon.conf says (a test keeps them the same)
SAMPLE_NAMESPACES = ("nfvmon", "oslo.messaging", "oslo.log")
SAMPLE_WRAP_WIDTH = 79


def sample_config() -> str:
    from oslo_config import cfg, generator

    conf = cfg.ConfigOpts()
    generator.register_cli_opts(conf)
    args = [arg for namespace in SAMPLE_NAMESPACES for arg in ("--namespace", namespace)]
    conf(args=[*args, "--wrap-width", str(SAMPLE_WRAP_WIDTH)], project="nfvmon",
         default_config_files=[])
    out = io.StringIO()
    generator.generate(conf, output_file=out)
    return out.getvalue()


class ConfigSample(NfvmonCommand):
    """Print a sample nfvmon.conf: every option with its default and what it does."""

    takes_config = False

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        sys.stdout.write(sample_config())
        return 0
