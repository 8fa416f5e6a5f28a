"""`nfvmon vim ...` and `nfvmon vnf ...`: the lifecycle commands over Mistral.

Every command takes `--config-file` (the conductor's file: transport, database, Mistral URL)
and list/show/events take `-f table|json|yaml`, as OpenStack clients do.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import yaml


def add_commands(commands, add_config_option) -> None:
    vim = commands.add_parser("vim", help="register and watch VIMs")
    vims = vim.add_subparsers(dest="vim_command", required=True, metavar="ACTION")
    register = vims.add_parser("register", help="register a VIM and start monitoring it")
    register.add_argument("config", metavar="CONFIG.yaml")
    register.add_argument("--name", default="")
    _deploy_options(register)
    _common(register, add_config_option, _vim_register)
    update = vims.add_parser("update", help="new auth_url or monitor settings: a new monitor "
                                            "replaces the old one")
    update.add_argument("resource_id", metavar="ID")
    update.add_argument("config", metavar="CONFIG.yaml")
    _common(update, add_config_option, _vim_update)
    deregister = vims.add_parser("deregister", help="stop monitoring a VIM and forget it")
    deregister.add_argument("resource_id", metavar="ID")
    _common(deregister, add_config_option, _vim_deregister)
    workflow = vims.add_parser("workflow", help="the workflow of a VIM's current monitor "
                                                "(to deploy it with Mistral's own tools)")
    workflow.add_argument("resource_id", metavar="ID")
    _workflow_output_options(workflow)
    _common(workflow, add_config_option, _vim_workflow)
    for name, handler, takes_id in (("list", _vim_list, False), ("show", _vim_show, True)):
        sub = vims.add_parser(name, help=f"{name} VIMs")
        if takes_id:
            sub.add_argument("resource_id", metavar="ID")
        _common(sub, add_config_option, handler, formats=True)

    vnf = commands.choices["vnf"]
    vnfs = next(a for a in vnf._actions if isinstance(a, argparse._SubParsersAction))
    create = vnfs.add_parser("create", help="onboard a VNF and start monitoring it")
    create.add_argument("vnfd", metavar="VNFD.yaml")
    create.add_argument("--mgmt-ip", action="append", required=True, metavar="VDU=IP")
    create.add_argument("--name", default="")
    _deploy_options(create)
    _common(create, add_config_option, _vnf_create)
    scale = vnfs.add_parser("scale", help="new management IPs of VDUs (after a scale-out or "
                                          "-in): a new monitor replaces the old one")
    scale.add_argument("resource_id", metavar="ID")
    scale.add_argument("--mgmt-ip", action="append", required=True, metavar="VDU=IP")
    _common(scale, add_config_option, _vnf_scale)
    heal = vnfs.add_parser("heal", help="heal one VDU through the VNF manager, then monitor "
                                        "it afresh")
    heal.add_argument("resource_id", metavar="ID")
    heal.add_argument("--vdu", required=True)
    _common(heal, add_config_option, _vnf_heal)
    delete = vnfs.add_parser("delete", help="stop monitoring a VNF and forget it")
    delete.add_argument("resource_id", metavar="ID")
    _common(delete, add_config_option, _vnf_delete)
    workflow = vnfs.add_parser("workflow", help="the workflow of a VNF's current monitor "
                                                "(to deploy it with Mistral's own tools)")
    workflow.add_argument("resource_id", metavar="ID")
    _workflow_output_options(workflow)
    _common(workflow, add_config_option, _vnf_workflow)
    for name, handler, takes_id in (("list", _vnf_list, False), ("show", _vnf_show, True),
                                    ("events", _vnf_events, True)):
        sub = vnfs.add_parser(name, help=f"{name} of VNFs")
        if takes_id:
            sub.add_argument("resource_id", metavar="ID")
        _common(sub, add_config_option, handler, formats=True)


def _deploy_options(parser) -> None:
    parser.add_argument("--deploy", choices=("nfvmon", "external"), default="nfvmon",
                        help="nfvmon: nfvmon creates the workflow and its execution in Mistral "
                             "(default); external: only record it and write the workflow "
                             "(-o or -f json), for `mistral workflow-create` and "
                             "`mistral execution-create`")
    _workflow_output_options(parser, formats=False)


def _workflow_output_options(parser, formats: bool = True) -> None:
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="write the workflow YAML to OUT (atomically)")
    if formats:
        parser.add_argument("-f", "--format", choices=("yaml", "json"), default="yaml",
                            help='json prints {"workflow", "name", "action_id"}')
    else:
        parser.add_argument("-f", "--format", choices=("id", "json"), default="id",
                            help="id: the new id alone on stdout (default); json: "
                                 '{"id", "deployment", "workflow", "name", "action_id"}')


def _common(parser, add_config_option, handler, formats: bool = False) -> None:
    add_config_option(parser)
    if formats:
        parser.add_argument("-f", "--format", choices=("table", "json", "yaml"),
                            default="table")
    parser.set_defaults(handler=handler)


def _services(args, with_backend: bool = True):
    """The Store (and the Lifecycle), once the database and the broker's login are checked:
    a missing database is one line naming `db upgrade`, and is never created here."""
    from nfvmon import config
    from nfvmon.conductor_rpc.client import MonitorControlAPI
    from nfvmon.conductor_rpc.transport import check_login, rpc_transport
    from nfvmon.db.api import Store
    from nfvmon.db.engine import make_engine
    from nfvmon.db.migrate import check_schema
    from nfvmon.lifecycle import Lifecycle, MistralBackend

    conf = config.load(args.config_file, setup_logging=False)
    check_schema(config.database_url(conf), write=with_backend,
                 upgrade_command=config.upgrade_command(conf))
    if with_backend:
        transport = rpc_transport(conf)
        check_login(conf)
    store = Store(make_engine(config.database_url(conf)))
    if not with_backend:
        return store, None
    backend = MistralBackend(conf.mistral.url or config.DEFAULT_MISTRAL_URL,
                             conf.mistral.auth_token)
    control = MonitorControlAPI(transport)
    return store, Lifecycle(store, backend, control, run_mode=conf.mistral.run_mode,
                            monitor_defaults=config.all_monitor_defaults(conf),
                            # an operator's deployment is removed only from a Mistral named
                            # in the configuration, never from the built-in local default
                            external_backend=backend if conf.mistral.url else None)


def _offline_lifecycle(args):
    """A Lifecycle that only reads the database and generates (no broker, no Mistral)."""
    from nfvmon import config
    from nfvmon.lifecycle import Lifecycle

    store, _ = _services(args, with_backend=False)
    conf = config.load(args.config_file, setup_logging=False)
    return Lifecycle(store, None, run_mode=conf.mistral.run_mode,
                     monitor_defaults=config.all_monitor_defaults(conf))


def _vim_register(args) -> int:
    from nfvmon.generator.loader import load_yaml_file
    from nfvmon.generator.vim import vim_config_duplicate_is_error

    config = load_yaml_file(args.config, vim_config_duplicate_is_error)
    _check_deploy_output(args)
    _, lifecycle = _services(args)
    vim_id = lifecycle.register_vim(config, args.config, name=args.name,
                                    deployment=args.deploy)
    return _registered(lifecycle, "vim", vim_id, args)


def _vnf_create(args) -> int:
    from nfvmon.generator import tosca
    from nfvmon.generator.identifiers import parse_mgmt_ip_option
    from nfvmon.generator.loader import load_yaml_text, read_text
    from nfvmon.generator.vnf import group_mgmt_ips

    mgmt_ips = group_mgmt_ips(parse_mgmt_ip_option(value) for value in args.mgmt_ip)
    text = read_text(args.vnfd)
    vnfd = load_yaml_text(text, args.vnfd, tosca.vnfd_duplicate_is_error)
    _check_deploy_output(args)
    _, lifecycle = _services(args)
    vnf_id = lifecycle.create_vnf(vnfd, args.vnfd, mgmt_ips, name=args.name, vnfd_text=text,
                                  deployment=args.deploy)
    return _registered(lifecycle, "vnf", vnf_id, args)


def _check_deploy_output(args) -> None:
    from nfvmon.errors import UsageError

    if args.deploy == "external" and not args.output and args.format != "json":
        raise UsageError("--deploy external writes the workflow for you to deploy: give "
                         "-o FILE (or -f json)")


def _registered(lifecycle, kind: str, resource_id: str, args) -> int:
    """The new id alone on stdout (or the JSON); for an external deployment the workflow
    file, and on stderr what to run to start the monitor."""
    from nfvmon.lifecycle.external import deploy_commands

    workflow = lifecycle.workflow(kind, resource_id) if args.deploy == "external" else None
    if workflow is not None and args.output:
        from nfvmon.generator.output import write_atomic

        write_atomic(args.output, workflow.text)
    if args.format == "json":
        print(json.dumps({"id": resource_id, "deployment": args.deploy,
                          **(workflow.as_dict() if workflow else {})}, indent=2))
    else:
        print(resource_id)
    if workflow is not None:
        where = args.output or "the workflow (the JSON's `workflow`) saved to a file"
        print(f"{kind.upper()} {resource_id} recorded for external deployment; start its "
              f"monitor with:", file=sys.stderr)
        for command in deploy_commands(args.output or "WORKFLOW.yaml", workflow.name):
            print(f"  {command}", file=sys.stderr)
        if not args.output:
            print(f"  (WORKFLOW.yaml: {where})", file=sys.stderr)
    return 0


def _vim_update(args) -> int:
    from nfvmon.generator.loader import load_yaml_file
    from nfvmon.generator.vim import vim_config_duplicate_is_error

    config = load_yaml_file(args.config, vim_config_duplicate_is_error)
    _, lifecycle = _services(args)
    lifecycle.update_vim(args.resource_id, config, args.config)
    print(f"VIM {args.resource_id} updated")
    return 0


def _vnf_scale(args) -> int:
    from nfvmon.generator.identifiers import parse_mgmt_ip_option
    from nfvmon.generator.vnf import group_mgmt_ips

    mgmt_ips = group_mgmt_ips(parse_mgmt_ip_option(value) for value in args.mgmt_ip)
    _, lifecycle = _services(args)
    lifecycle.scale_vnf(args.resource_id, mgmt_ips)
    print(f"VNF {args.resource_id} now monitored at "
          + "; ".join(f"{vdu}: {', '.join(ips)}" for vdu, ips in mgmt_ips.items()))
    return 0


def _vnf_heal(args) -> int:
    from nfvmon import config
    from nfvmon.conductor_rpc.vnf_managers import load_manager

    _, lifecycle = _services(args)
    conf = config.load(args.config_file, setup_logging=False)
    lifecycle.heal_vnf(args.resource_id, args.vdu, load_manager(conf),
                       timeout=conf.conductor.policy_action_timeout)
    print(f"VNF {args.resource_id}: VDU {args.vdu} healed")
    return 0


def _vim_deregister(args) -> int:
    _, lifecycle = _services(args)
    removal = lifecycle.deregister_vim(args.resource_id)
    print(f"VIM {args.resource_id} " + ("deregistered" if removal else "was not registered"))
    return _external_teardown(removal)


def _vnf_delete(args) -> int:
    _, lifecycle = _services(args)
    removal = lifecycle.delete_vnf(args.resource_id)
    print(f"VNF {args.resource_id} " + ("deleted" if removal else "did not exist"))
    return _external_teardown(removal)


def _external_teardown(removal) -> int:
    """Say what became of an external deployment's workflow and executions in Mistral."""
    from nfvmon.lifecycle.external import teardown_commands

    if removal.deployment != "external" or not removal.workflow_name:
        return 0
    if removal.removed_from_mistral:
        print(f"its monitor was killed; nfvmon removed workflow {removal.workflow_name} and "
              f"its executions from Mistral")
        return 0
    print(f"its monitor was killed; nfvmon did not remove workflow {removal.workflow_name} "
          f"from Mistral ({removal.problem}); remove it and its executions with:")
    for command in teardown_commands(removal.workflow_name):
        print(f"  {command}")
    return 0


def _vim_workflow(args) -> int:
    return _show_workflow("vim", args)


def _vnf_workflow(args) -> int:
    return _show_workflow("vnf", args)


def _show_workflow(kind: str, args) -> int:
    from nfvmon.generator.output import write_atomic

    workflow = _offline_lifecycle(args).workflow(kind, args.resource_id)
    if args.output:
        write_atomic(args.output, workflow.text)
    if args.format == "json":
        print(json.dumps(workflow.as_dict(), indent=2))
    elif not args.output:
        sys.stdout.write(workflow.text)
    return 0


def _vim_row(vim) -> dict[str, Any]:
    return {"id": vim.id, "name": vim.name, "target": vim.target, "status": vim.status,
            "reason": vim.status_reason, "updated_at": vim.updated_at.isoformat()}


def _vnf_row(vnf) -> dict[str, Any]:
    return {"id": vnf.id, "name": vnf.name, "status": vnf.status,
            "mgmt_ips": vnf.mgmt_ips,
            "reason": vnf.status_reason, "updated_at": vnf.updated_at.isoformat()}


def _vim_list(args) -> int:
    store, _ = _services(args, with_backend=False)
    return _emit([_vim_row(v) for v in store.list_vims()], args.format)


def _vnf_list(args) -> int:
    store, _ = _services(args, with_backend=False)
    return _emit([_vnf_row(v) for v in store.list_vnfs()], args.format)


def _vim_show(args) -> int:
    store, _ = _services(args, with_backend=False)
    return _show(store.get_vim(args.resource_id), _vim_row, "VIM", args)


def _vnf_show(args) -> int:
    store, _ = _services(args, with_backend=False)
    return _show(store.get_vnf(args.resource_id), _vnf_row, "VNF", args)


def _vnf_events(args) -> int:
    from nfvmon.db.api import VNF

    store, _ = _services(args, with_backend=False)
    rows = [{"time": e.created_at.isoformat(), "type": e.event_type, "state": e.state,
             "details": e.details} for e in store.events(VNF, args.resource_id)]
    return _emit(rows, args.format)


def _show(resource, row, kind: str, args) -> int:
    if resource is None:
        print(f"nfvmon: no {kind} {args.resource_id}", file=sys.stderr)
        return 2
    return _emit(row(resource), args.format)


def _emit(data: dict | list, fmt: str) -> int:
    if fmt == "json":
        print(json.dumps(data, indent=2, default=str))
    elif fmt == "yaml":
        print(yaml.safe_dump(data, sort_keys=False, default_flow_style=False), end="")
    else:
        print(_table(data if isinstance(data, list) else [data],
                     vertical=isinstance(data, dict)))
    return 0


def _table(rows: Sequence[dict], vertical: bool = False) -> str:
    def text(value: Any) -> str:
        value = json.dumps(value) if isinstance(value, dict | list) else str(value)
        return value if len(value) <= 80 or vertical else value[:77] + "..."

    if vertical and rows:
        rows = [{"field": k, "value": text(v)} for k, v in rows[0].items()]
    if not rows:
        return "(none)"
    columns = list(rows[0])
    cells = [[text(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    def render(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    return "\n".join([line, render(columns), line, *map(render, cells), line])
