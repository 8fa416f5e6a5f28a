"""The `nfvmon` command: a thin layer over the Python API.

Errors a user can fix print as one line `FILE: path.inside.file: what is wrong` and exit 2;
`validate` exits 1 for a workflow that is not acceptable; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import warnings
from collections.abc import Sequence

from nfvmon import __version__
from nfvmon.defaults import RUN_MODES, SYNC
from nfvmon.errors import GeneratorBug, NfvmonError

EXIT_INVALID = 1
EXIT_INPUT = 2
EXIT_SOFTWARE = 70


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nfvmon", description="Liveness monitoring of VIMs and VNFs on OpenStack Mistral.")
    parser.add_argument("--version", action="version", version=f"nfvmon {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser("generate", help="generate a Mistral workflow")
    kinds = generate.add_subparsers(dest="kind", required=True, metavar="KIND")

    vim = kinds.add_parser("vim", help="workflow vim_id_<ID> from a VIM registration file")
    vim.add_argument("config", metavar="CONFIG.yaml")
    vim.add_argument("--vim-id", required=True, metavar="ID")
    _add_output_options(vim)
    vim.set_defaults(handler=_generate_vim)

    vnf = kinds.add_parser("vnf", help="workflow vnf_id_<ID> from a TOSCA VNFD")
    vnf.add_argument("vnfd", metavar="VNFD.yaml")
    vnf.add_argument("--vnf-id", required=True, metavar="ID")
    vnf.add_argument("--mgmt-ip", action="append", required=True, metavar="VDU=IP",
                     help="a VDU's management address; repeat for several VDUs or addresses")
    _add_output_options(vnf)
    vnf.set_defaults(handler=_generate_vnf)

    conductor = commands.add_parser("conductor", help="run a conductor (RPC server)")
    _add_config_option(conductor)
    conductor.set_defaults(handler=_conductor)

    db = commands.add_parser("db", help="manage nfvmon's database")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="create or migrate the schema to the "
                                                      "latest revision")
    _add_config_option(upgrade)
    upgrade.set_defaults(handler=_db_upgrade)

    vnf_cmd = commands.add_parser("vnf", help="operate on monitored VNFs")
    vnf_commands = vnf_cmd.add_subparsers(dest="vnf_command", required=True, metavar="ACTION")
    clear = vnf_commands.add_parser("clear-error", help="lift a VNF's cooldown ERROR")
    clear.add_argument("vnf_id", metavar="ID")
    _add_config_option(clear)
    clear.set_defaults(handler=_vnf_clear_error)

    from nfvmon.cli.lifecycle import add_commands

    add_commands(commands, _add_config_option)

    demo = commands.add_parser(
        "demo", help="the whole loop in one process: no broker, no Mistral needed")
    demo.add_argument("--duration", type=float, default=30.0, metavar="SECONDS",
                      help="how long to run (default 30)")
    demo.add_argument("--fail-after", type=float, default=8.0, metavar="SECONDS",
                      help="when to stop the demo VNF's server (default 8)")
    demo.set_defaults(handler=_demo)

    validate = commands.add_parser(
        "validate", help="check workflow files with Mistral's parser and the nfvmon actions")
    validate.add_argument("files", nargs="+", metavar="WORKFLOW.yaml")
    validate.set_defaults(handler=_validate)
    return parser


def _add_config_option(parser: argparse.ArgumentParser, help: str = "") -> None:
    parser.add_argument("--config-file", action="append", metavar="FILE",
                        help=help or "nfvmon configuration file (repeatable; later files win)")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    _add_config_option(parser, "nfvmon configuration file whose [monitor] options fill the "
                               "parameters the input leaves out (repeatable)")
    parser.add_argument("--action-id", metavar="UUID",
                        help="the action id written into the workflow (default: a new UUID4)")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="write the workflow YAML to OUT (atomically) instead of stdout")
    parser.add_argument("-f", "--format", choices=("yaml", "json"), default="yaml",
                        help='json prints {"workflow", "name", "action_id"} on stdout')
    parser.add_argument("--run-mode", choices=RUN_MODES, default=SYNC,
                        help="sync: the action holds a Mistral executor thread while it runs "
                             "(default); async: it returns the thread at once, so one "
                             "executor hosts 1,000+ monitors (see the README)")


def _emit(generated, args) -> int:
    from nfvmon.generator.output import write_atomic

    if args.output:
        write_atomic(args.output, generated.text)
    if args.format == "json":
        sys.stdout.write(json.dumps(generated.as_dict(), indent=2) + "\n")
    elif not args.output:
        sys.stdout.write(generated.text)
    return 0


def _generate_vim(args) -> int:
    from nfvmon.generator import vim_workflow

    generated = vim_workflow(args.config, args.vim_id, args.action_id, run_mode=args.run_mode,
                             monitor_defaults=_monitor_defaults(args))
    return _emit(generated, args)


def _generate_vnf(args) -> int:
    from nfvmon.generator import vnf_workflow
    from nfvmon.generator.identifiers import parse_mgmt_ip_option
    from nfvmon.generator.vnf import group_mgmt_ips

    mgmt_ips = group_mgmt_ips(parse_mgmt_ip_option(value) for value in args.mgmt_ip)
    generated = vnf_workflow(args.vnfd, args.vnf_id, mgmt_ips, args.action_id,
                             run_mode=args.run_mode, monitor_defaults=_monitor_defaults(args))
    return _emit(generated, args)


def _monitor_defaults(args):
    """The operator's [monitor] defaults when --config-file names them (None: built in).
    `generate` stays a pure generator: it reads the file, nothing else."""
    if not args.config_file:
        return None
    from nfvmon import config

    return config.all_monitor_defaults(config.load(args.config_file, setup_logging=False))


def _conductor(args) -> int:
    from nfvmon import config
    from nfvmon.conductor_rpc.server import serve

    _leave_logging_to_oslo()
    serve(config.load(args.config_file))
    _exit_without_waiting_for_threads()
    return 0


def _leave_logging_to_oslo() -> None:
    """The conductor logs through oslo.log alone: one line per record, at its `debug` level."""
    logger = logging.getLogger("nfvmon")
    for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)


def _exit_without_waiting_for_threads() -> None:
    """Leave now if threads still run: a policy action (its job is in the database and
    resumes at the next start) or an interrupted start-up's broker retries must not keep a
    stopped conductor alive."""
    others = [t for t in threading.enumerate()
              if t is not threading.current_thread() and not t.daemon and t.is_alive()]
    if others:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _open_store(args):
    from nfvmon import config
    from nfvmon.db.api import Store
    from nfvmon.db.engine import make_engine
    from nfvmon.db.migrate import check_schema

    conf = config.load(args.config_file, setup_logging=False)
    check_schema(config.database_url(conf), write=True,
                 upgrade_command=config.upgrade_command(conf))
    return Store(make_engine(config.database_url(conf)))


def _db_upgrade(args) -> int:
    from nfvmon import config
    from nfvmon.db.migrate import current_revision, upgrade

    url = config.database_url(config.load(args.config_file, setup_logging=False))
    upgrade(url)
    print(f"database at revision {current_revision(url)}")
    return 0


def _vnf_clear_error(args) -> int:
    written = _open_store(args).clear_vnf_error(args.vnf_id)
    if written.outcome == "changed":
        print(f"VNF {args.vnf_id}: ERROR cleared, now ACTIVE")
        return 0
    if written.outcome == "bad_action":
        print(f"nfvmon: no VNF {args.vnf_id}", file=sys.stderr)
    else:
        print(f"nfvmon: VNF {args.vnf_id} is {written.status}, not ERROR", file=sys.stderr)
    return EXIT_INPUT


def _demo(args) -> int:
    from nfvmon.demo import run_demo

    logging.getLogger("nfvmon").setLevel(logging.ERROR)  # the table says it all
    return run_demo(duration=args.duration, fail_after=args.fail_after)


def _validate(args) -> int:
    from nfvmon.generator.validate import mistral_parser_available, problems_in_file

    if not mistral_parser_available():
        print("nfvmon: mistral is not installed: checking nfvmon action inputs only "
              "(pip install 'nfvmon[mistral]' for Mistral's own parser)", file=sys.stderr)
    status = 0
    for path in args.files:
        problems = problems_in_file(path)
        for problem in problems:
            print(f"{path}: {problem}", file=sys.stderr)
        if problems:
            status = EXIT_INVALID
        else:
            print(f"{path}: valid")
    return status


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at the time (so in-process callers capture it)."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(self.format(record) + "\n")


def _setup_logging() -> None:
    logger = logging.getLogger("nfvmon")
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("nfvmon: %(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    # oslo.service warns on import that eventlet is deprecated; nfvmon does not use eventlet.
    warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
    _setup_logging()
    args = _build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except GeneratorBug as exc:
        print(f"nfvmon: internal error (please report): {exc}", file=sys.stderr)
        return EXIT_SOFTWARE
    except NfvmonError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
