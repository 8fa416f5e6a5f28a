"""The configuration, database and lifecycle a command works with, opened from its
`--config-file`: the database's schema is checked first (a missing one is one line naming
`db upgrade`, and is never created here), the broker's login before anything is changed."""

from __future__ import annotations

from collections.abc import Sequence


def load_config(files: Sequence[str] | None):
    from nfvmon import config

    return config.load(list(files) if files else None, setup_logging=False)


def open_store(files: Sequence[str] | None, write: bool = False):
    """The Store alone: for reads (write=False) and changes that need no broker."""
    return _store(load_config(files), write)


def _store(conf, write: bool):
    from nfvmon import config
    from nfvmon.db.api import Store
    from nfvmon.db.engine import make_engine
    from nfvmon.db.migrate import check_schema

    check_schema(config.database_url(conf), write=write,
                 upgrade_command=config.upgrade_command(conf))
    return Store(make_engine(config.database_url(conf)))


def open_lifecycle(files: Sequence[str] | None):
    """A Lifecycle that deploys to Mistral and tells monitors over the broker."""
    from nfvmon import config, mistral_api
    from nfvmon.conductor_rpc.client import MonitorControlAPI
    from nfvmon.conductor_rpc.transport import check_login, rpc_transport
    from nfvmon.lifecycle import Lifecycle, MistralBackend

    conf = load_config(files)
    store = _store(conf, write=True)
    transport = rpc_transport(conf)
    check_login(conf)
    backend = MistralBackend.from_conf(conf, default_url=config.DEFAULT_MISTRAL_URL)
    return Lifecycle(store, backend, MonitorControlAPI(transport),
                     run_mode=conf.mistral.run_mode,
                     monitor_defaults=config.all_monitor_defaults(conf),
                     # an operator's deployment is removed only from a Mistral named in
                     # the configuration (a URL, or Keystone's catalog), never from the
                     # built-in local default
                     external_backend=backend if mistral_api.configured(conf) else None)


def open_offline_lifecycle(files: Sequence[str] | None):
    """A Lifecycle that only reads the database and generates (no broker, no Mistral)."""
    from nfvmon import config
    from nfvmon.lifecycle import Lifecycle

    conf = load_config(files)
    return Lifecycle(_store(conf, write=False), None, run_mode=conf.mistral.run_mode,
                     monitor_defaults=config.all_monitor_defaults(conf))
