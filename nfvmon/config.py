"""nfvmon's oslo.config options, registered on one ConfigOpts (normally `cfg.CONF`).

oslo.messaging 18.3 registers some options only on the global `cfg.CONF`, so the conductor and
the CLI use it; tests reset it. The `[monitor]` options are generated from nfvmon.defaults, the
single source the generator and the actions read, so a default is written down only once.
`list_opts()` is the `oslo.config.opts` entry point for `oslo-config-generator`.
"""

from __future__ import annotations

import os
import re
import shlex
import socket

from oslo_config import cfg

from nfvmon import defaults, mistral_api

DEFAULT_STATE_PATH = os.path.join("~", ".local", "state", "nfvmon")

default_opts = [
    cfg.StrOpt("state_path", default=DEFAULT_STATE_PATH,
               help="Directory for nfvmon's state (the default SQLite database)."),
    cfg.StrOpt("host", default=socket.gethostname(), sample_default="<hostname>",
               help="Name of this node; the conductor's RPC server name."),
]

database_opts = [
    cfg.StrOpt("connection", secret=True,
               help="SQLAlchemy URL of nfvmon's database, for example "
                    "postgresql+psycopg2://nfvmon@127.0.0.1/nfvmon. Default: a SQLite file "
                    "nfvmon.sqlite under state_path (one conductor only)."),
]

conductor_opts = [
    cfg.StrOpt("topic", default="nfvmon_conductor",
               help="RPC topic the conductors listen on; several conductors share it."),
    cfg.IntOpt("rpc_workers", default=4, min=1,
               help="Threads that handle RPC calls (oslo.messaging's executor pool). The "
                    "handlers are short database writes: a few threads beat many, which "
                    "mostly contend for the GIL and the database."),
    cfg.IntOpt("policy_workers", default=4, min=1,
               help="Threads that decide policy actions (respawn, heal, ...) off the RPC "
                    "threads: the heal cap and back-off, the pending status. The actions "
                    "themselves run on threads of their own (max_running_policy_actions)."),
    cfg.IntOpt("max_running_policy_actions", default=64, min=1,
               help="Policy actions that may run at once, each on a thread of its own. A "
                    "hung VNF-manager call holds one of these until policy_action_timeout, "
                    "never a policy worker: other VNFs' actions wait only once all are "
                    "taken."),
    cfg.IntOpt("policy_action_timeout", default=600, min=1,
               help="Seconds a policy action may run before the conductor gives up on it "
                    "and puts the VNF into ERROR. Should the conductor die meanwhile, "
                    "another one (or it, restarted) takes the action over once this has "
                    "passed, within one reconcile_interval."),
    cfg.IntOpt("checkin_interval", default=60, min=1,
               help="Seconds between the check-ins every running monitor action sends."),
    cfg.IntOpt("checkin_missed_limit", default=3, min=1,
               help="A monitor that missed this many check-ins in a row is considered dead."),
    cfg.BoolOpt("reconcile", default=True,
                help="Re-create monitors that stopped checking in, and delete failed "
                     "Mistral executions of nfvmon workflows (needs [mistral] url or "
                     "auth_type)."),
    cfg.IntOpt("reconcile_workers", default=8, min=1,
               help="Monitors the reconciler re-creates at once (each is a few Mistral API "
                    "calls, mostly waiting): after an executor died with many monitors, "
                    "they come back in parallel."),
    cfg.IntOpt("reconcile_interval", default=60, min=1,
               help="Seconds between reconcile rounds, and between the rounds in which "
                    "a conductor takes over policy actions whose conductor died."),
    cfg.IntOpt("max_heal_attempts", default=3, min=1,
               help="Respawn/heal attempts per VNF before it goes to a cooldown ERROR that "
                    "only an explicit clear lifts."),
    cfg.FloatOpt("heal_backoff_initial", default=10.0, min=0,
                 help="Seconds to wait before the second respawn/heal attempt; doubles with "
                      "each further attempt."),
    cfg.FloatOpt("heal_backoff_max", default=600.0, min=0,
                 help="Upper bound of the wait between respawn/heal attempts."),
    cfg.IntOpt("metrics_port", default=0, min=0, max=65535,
               help="Port of the Prometheus metrics endpoint; 0 turns it off."),
    cfg.HostAddressOpt("metrics_host", default="127.0.0.1",
                       help="Address the Prometheus metrics endpoint binds to."),
]

vnf_manager_opts = [
    cfg.StrOpt("driver", default="noop",
               help="VNF manager driver (entry point in nfvmon.vnf_managers): what respawn, "
                    "heal, scale and kill do to the infrastructure. Built in: command, "
                    "webhook, noop."),
    cfg.ListOpt("command", default=[],
                help="command driver: the argv to run (no shell). The operation is appended "
                     "as the last argument; NFVMON_OPERATION, NFVMON_VNF_ID and NFVMON_VDU are "
                     "in its environment; new management IPs are read from its JSON stdout "
                     '({"mgmt_ips": {"VDU1": ["192.0.2.10"]}}).'),
    cfg.IntOpt("command_timeout", default=300, min=1,
               help="command driver: seconds before the command is killed."),
    cfg.URIOpt("webhook_url", schemes=["http", "https"],
               help="webhook driver: URL that receives a JSON POST per operation."),
    cfg.StrOpt("webhook_token", secret=True,
               help="webhook driver: bearer token sent in the Authorization header."),
    cfg.IntOpt("webhook_timeout", default=60, min=1,
               help="webhook driver: seconds to wait for the answer."),
]


mistral_opts = [
    cfg.URIOpt("url", schemes=["http", "https"],
               help="Mistral's API endpoint, for example http://127.0.0.1:8989/v2; with "
                    "auth_type set, the catalog's workflowv2 endpoint is used when this is "
                    "not set. The lifecycle commands use it (default: that local one); the "
                    "conductor's reconciler and the actions' execution check run only when "
                    "this or auth_type is set."),
    cfg.StrOpt("auth_token", secret=True,
               help="Development only: a fixed token for Mistral's API, used when auth_type "
                    "is not set. It is never renewed; set auth_type (password, ...) and its "
                    "options to have Keystone's tokens renewed before they expire."),
    cfg.StrOpt("run_mode", default=defaults.SYNC, choices=list(defaults.RUN_MODES),
               help="How the monitor actions run on Mistral's executors. sync: each holds "
                    "an executor thread while it runs, so an executor hosts at most "
                    "executor_thread_pool_size monitors (64 by default). async: each returns "
                    "its thread at once and runs on nfvmon's engine, 1,000+ per executor; "
                    "the executors' nfvmon configuration then needs [mistral] url or "
                    "auth_type, to report the end of each action."),
] + mistral_api.keystone_opts()


def _monitor_opts() -> list[cfg.Opt]:
    """`[monitor]` options, one per default in nfvmon.defaults (vim_count, ping_timeout, ...);
    a probe type's parameter declares the option's type (nfvmon/probes/interface.py)."""
    opts: list[cfg.Opt] = []
    for monitor, params in defaults.ALL_MONITOR_DEFAULTS.items():
        for name, value in params.items():
            opt = f"{monitor}_{name}"
            help = f"Default {name} of the {monitor} monitor."
            if isinstance(value, bool):
                opts.append(cfg.BoolOpt(opt, default=value, help=help))
            elif isinstance(value, str):
                opts.append(cfg.StrOpt(opt, default=value, help=help))
            else:
                kind = cfg.FloatOpt if name in defaults.SECONDS_PARAMETERS else cfg.IntOpt
                opts.append(kind(opt, default=value, min=0, help=help))
    return opts


monitor_opts = _monitor_opts()

GROUPS = {
    None: default_opts,
    "database": database_opts,
    "conductor": conductor_opts,
    "monitor": monitor_opts,
    "vnf_manager": vnf_manager_opts,
    "mistral": mistral_opts,
}


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register every nfvmon option on `conf`; safe to call more than once."""
    for group, opts in GROUPS.items():
        for opt in opts:
            try:
                conf.register_opt(opt, group=group)
            except cfg.DuplicateOptError:
                # `[database] connection` may already come from oslo.db when Mistral is
                # imported in the same process; it means the same thing there.
                pass


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """For oslo-config-generator (entry point `oslo.config.opts`, namespace `nfvmon`)."""
    listed = [("DEFAULT" if group is None else group, list(opts))
              for group, opts in GROUPS.items()]
    return listed + [("mistral", mistral_api.password_opts())]


def state_path(conf: cfg.ConfigOpts) -> str:
    return os.path.abspath(os.path.expanduser(conf.state_path))


def database_url(conf: cfg.ConfigOpts) -> str:
    """`[database] connection`, or the default SQLite file under state_path.

    Only a value someone set counts: where Mistral shares the process, oslo.db registered
    the option first, with Mistral's own default (mistral.sqlite), which is not ours."""
    location = conf.get_location("connection", "database")
    chosen = location is None or location.location not in (cfg.Locations.opt_default,
                                                            cfg.Locations.set_default)
    if conf.database.connection and chosen:
        return conf.database.connection
    return "sqlite:///" + os.path.join(state_path(conf), "nfvmon.sqlite")


def upgrade_command(conf: cfg.ConfigOpts) -> str:
    """The command that creates or migrates this configuration's database (errors name it)."""
    files = "".join(f" --config-file {shlex.quote(path)}" for path in conf.config_file or ())
    return "nfvmon db upgrade" + files


def monitor_defaults(conf: cfg.ConfigOpts, monitor: str) -> dict[str, int | float]:
    """The configured defaults of one monitor (`vim`, `ping`, `http_ping`, `tcp`)."""
    table = defaults.VIM_MONITOR_DEFAULTS if monitor == "vim" else \
        defaults.VNF_MONITOR_DEFAULTS[monitor]
    values = {name: conf.monitor[f"{monitor}_{name}"] for name in table}
    # Whole seconds stay integers, so configured and built-in defaults render the same.
    return {name: int(v) if isinstance(v, float) and v.is_integer() else v
            for name, v in values.items()}


def all_monitor_defaults(conf: cfg.ConfigOpts) -> dict[str, dict[str, int | float]]:
    """Every monitor's configured defaults: what fills a parameter an input leaves out,
    wherever a workflow is generated (the lifecycle, the reconciler, `generate`)."""
    return {monitor: monitor_defaults(conf, monitor) for monitor in defaults.ALL_MONITOR_DEFAULTS}


DEFAULT_MISTRAL_URL = "http://127.0.0.1:8989/v2"


def load(config_files: list[str] | None = None, conf: cfg.ConfigOpts = cfg.CONF,
         setup_logging: bool = True) -> cfg.ConfigOpts:
    """Register options, read `config_files`, and set up oslo.log; errors are InputErrors."""
    from oslo_log import log as oslo_log

    from nfvmon.errors import InputError

    register_opts(conf)
    try:
        oslo_log.register_options(conf)
    except cfg.ArgsAlreadyParsedError:
        pass
    files = list(config_files or [])
    for path in files:
        if not os.path.isfile(path):
            raise InputError(path, (), "no such configuration file")
    try:
        conf(args=[], project="nfvmon", default_config_files=files)
    except cfg.ConfigFileParseError as exc:
        raise InputError(exc.config_file, (), f"cannot parse: {exc.msg}") from None
    except cfg.Error as exc:
        raise InputError(files[0] if files else "configuration", (), str(exc)) from None
    _check_values(conf, files)
    if setup_logging:
        oslo_log.setup(conf, "nfvmon")
    return conf


def _check_values(conf: cfg.ConfigOpts, files: list[str]) -> None:
    """Read every option once: oslo.config checks a value only when it is read, and a bad one
    read deep in the conductor's start-up was a traceback instead of this one line."""
    from nfvmon.errors import InputError

    def bad(group: str | None, name: str, exc: Exception) -> InputError:
        # oslo.config names the file only in its message ("... detail='FILE') is not valid").
        found = re.search(r"detail='([^']*)'\) is not valid: (.*)", str(exc), re.S)
        source = found.group(1) if found else (files[-1] if files else "configuration")
        reason = found.group(2) if found else str(exc)
        return InputError(source, (group or "DEFAULT", name), reason)

    for key in list(conf):
        try:
            value = conf[key]
        except cfg.ConfigFileValueError as exc:
            raise bad(None, key, exc) from None
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            for name in list(value):
                try:
                    value[name]
                except cfg.ConfigFileValueError as exc:
                    raise bad(key, name, exc) from None
