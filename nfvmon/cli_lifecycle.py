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
    _common(register, add_config_option, _vim_register)
    update = vims.add_parser("update", help="new auth_url or monitor settings: a new monitor "
                                            "replaces the old one")
    update.add_argument("resource_id", metavar="ID")
    update.add_argument("config", metavar="CONFIG.yaml")
    _common(update, add_config_option, _vim_update)
    deregister = vims.add_parser("deregister", help="stop monitoring a VIM and forget it")
    deregister.add_argument("resource_id", metavar="ID")
    _common(deregister, add_config_option, _vim_deregister)
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
    for name, handler, takes_id in (("list", _vnf_list, False), ("show", _vnf_show, True),
                                    ("events", _vnf_events, True)):
        sub = vnfs.add_parser(name, help=f"{name} of VNFs")
        if takes_id:
            sub.add_argument("resource_id", metavar="ID")
        _common(sub, add_config_option, handler, formats=True)


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
    return store, Lifecycle(store, backend, control, run_mode=conf.mistral.run_mode)


def _vim_register(args) -> int:
    from nfvmon.generator.loader import load_yaml_file
    from nfvmon.generator.vim import vim_config_duplicate_is_error

    config = load_yaml_file(args.config, vim_config_duplicate_is_error)
    _, lifecycle = _services(args)
    vim_id = lifecycle.register_vim(config, args.config, name=args.name)
    print(vim_id)
    return 0


def _vnf_create(args) -> int:
    from nfvmon.generator import tosca
    from nfvmon.generator.identifiers import parse_mgmt_ip_option
    from nfvmon.generator.loader import load_yaml_text, read_text
    from nfvmon.generator.vnf import group_mgmt_ips

    mgmt_ips = group_mgmt_ips(parse_mgmt_ip_option(value) for value in args.mgmt_ip)
    text = read_text(args.vnfd)
    vnfd = load_yaml_text(text, args.vnfd, tosca.vnfd_duplicate_is_error)
    _, lifecycle = _services(args)
    print(lifecycle.create_vnf(vnfd, args.vnfd, mgmt_ips, name=args.name, vnfd_text=text))
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
    lifecycle.heal_vnf(args.resource_id, args.vdu, load_manager(config.load(
        args.config_file, setup_logging=False)))
    print(f"VNF {args.resource_id}: VDU {args.vdu} healed")
    return 0


def _vim_deregister(args) -> int:
    _, lifecycle = _services(args)
    gone = lifecycle.deregister_vim(args.resource_id)
    print(f"VIM {args.resource_id} " + ("deregistered" if gone else "was not registered"))
    return 0


def _vnf_delete(args) -> int:
    _, lifecycle = _services(args)
    gone = lifecycle.delete_vnf(args.resource_id)
    print(f"VNF {args.resource_id} " + ("deleted" if gone else "did not exist"))
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
