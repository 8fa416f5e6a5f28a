"""How nfvmon reaches Mistral's API, for each of its clients: the lifecycle (CLI), the
conductor's reconciler, and the actions on Mistral's executors.

With `[mistral] auth_type` set, through Keystone, with the options every OpenStack service
takes for its clients (keystoneauth1.loading: the auth plugin's, the session's and the
adapter's). The endpoint is `[mistral] url` if set, else the catalog's `workflowv2` one. One
keystoneauth auth plugin per Access: its token is shared by every thread and renewed by
keystoneauth before it expires (and once more on a 401), never kept past its life. Without
`auth_type`, `[mistral] url` with no authentication or a fixed `auth_token` (development).

Keystone's failures become one line naming the option to fix (MistralAccessError), raised
through python-mistralclient unchanged; Mistral's own answers are untouched.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading, session
from oslo_config import cfg

from nfvmon.errors import NfvmonError, one_line

GROUP = "mistral"
SERVICE_TYPE = "workflowv2"


class MistralAccessError(NfvmonError):
    """nfvmon cannot get at Mistral's API as configured: names the `[mistral]` option."""

    def __init__(self, message: str):
        super().__init__(one_line(message))


def keystone_opts() -> list[cfg.Opt]:
    """keystoneauth1's `[mistral]` options registered with nfvmon's own (so every file is
    checked when loaded): auth_type, the session's (cafile, insecure, timeout, ...) and the
    adapter's (service_type = workflowv2, valid_interfaces, region_name, ...)."""
    adapter_opts = []
    for opt in loading.get_adapter_conf_options():
        if opt.dest == "service_type":
            opt = copy.deepcopy(opt)
            opt.default = SERVICE_TYPE
        adapter_opts.append(opt)
    return (loading.get_auth_common_conf_options() + loading.get_session_conf_options()
            + adapter_opts)


def password_opts() -> list[cfg.Opt]:
    """The `password` plugin's options (auth_url, username, ...), for the sample only: the
    plugin named by auth_type registers its own when it is loaded (some are required)."""
    return loading.get_auth_plugin_conf_options("password")


def uses_keystone(conf: cfg.ConfigOpts) -> bool:
    return bool(conf[GROUP].auth_type or conf[GROUP].auth_section)


def configured(conf: cfg.ConfigOpts) -> bool:
    """Whether the configuration names a Mistral (a URL, or Keystone to find it in)."""
    return bool(conf[GROUP].url or uses_keystone(conf))


class Access:
    """How this process reaches Mistral: `client()` makes a python-mistralclient client.

    Built from the configuration without any network call (a missing or unknown option is a
    MistralAccessError at once); Keystone is first asked on the first request. Clients made
    by one Access share its auth plugin, so one token serves all threads, each client with a
    session (a connection pool) of its own."""

    def __init__(self, conf: cfg.ConfigOpts | None = None, default_url: str | None = None, *,
                 url: str | None = None, auth_token: str | None = None):
        self.url = conf[GROUP].url if conf is not None else url
        self.auth_token = conf[GROUP].auth_token if conf is not None else auth_token
        self.session: _Session | None = None
        self._adapter = None
        if conf is not None and uses_keystone(conf):
            self._load_keystone(conf)  # the catalog, not default_url, names Mistral
        else:
            self.url = self.url or default_url

    def _load_keystone(self, conf: cfg.ConfigOpts) -> None:
        loading.register_auth_conf_options(conf, GROUP)
        try:
            auth = loading.load_auth_from_conf_options(conf, GROUP)
        except ks_exc.MissingRequiredOptions as exc:
            names = ", ".join(opt.dest for opt in exc.options)
            raise MistralAccessError(f"[{GROUP}] {names}: required by auth_type "
                                     f"{conf[GROUP].auth_type}") from None
        except ks_exc.NoMatchingPlugin as exc:
            raise MistralAccessError(f"[{GROUP}] auth_type: no keystoneauth plugin named "
                                     f"{exc.name!r}") from None
        describe = _Describer(conf, auth)

        def new_session() -> _Session:
            made = _SessionLoader().load_from_conf_options(conf, GROUP, auth=auth)
            made.describe = describe
            return made

        self._new_session = new_session
        self.session = new_session()
        try:
            self._adapter = loading.load_adapter_from_conf_options(conf, GROUP,
                                                                   session=self.session)
        except TypeError as exc:  # interface with valid_interfaces, a bad interface name
            raise MistralAccessError(f"[{GROUP}] valid_interfaces: {exc}") from None

    def endpoint(self) -> str:
        """`[mistral] url`, else the catalog's endpoint (`[mistral] endpoint_override` wins
        there, as for any OpenStack client). Asks Keystone when it must."""
        if self.url:
            return self.url
        if self._adapter is None:
            raise MistralAccessError(f"[{GROUP}] url: not set, and no auth_type to find "
                                     "Mistral in Keystone's catalog")
        found = self._adapter.get_endpoint()
        if not found:
            raise self.session.describe(ks_exc.EndpointNotFound())
        return found

    def client(self):
        """A new python-mistralclient client (not shared between threads: its HTTP
        connection is reused by one). Asks Keystone for the endpoint when it must."""
        from mistralclient.api import client as mistral_client

        if self.session is None:
            return mistral_client.client(mistral_url=self.endpoint(),
                                         auth_token=self.auth_token)
        # Both the URL and the session: with a session alone python-mistralclient does not
        # look in the catalog but silently uses http://localhost:8989/v2.
        return mistral_client.client(mistral_url=self.endpoint(), session=self._new_session())


class _Session(session.Session):
    """A keystoneauth session whose calls to Keystone fail with one line naming the option.

    Only Keystone is asked in these two methods (the token, the catalog): an error raised
    here is never Mistral's, and as no HttpError it passes python-mistralclient, which would
    turn Keystone's 401 into a Mistral APIException."""

    describe: _Describer

    def get_auth_headers(self, auth=None, **kwargs):
        try:
            return super().get_auth_headers(auth, **kwargs)
        except ks_exc.ClientException as exc:
            raise self.describe(exc) from None

    def get_endpoint(self, auth=None, **kwargs):
        try:
            return super().get_endpoint(auth, **kwargs)
        except ks_exc.ClientException as exc:
            raise self.describe(exc) from None


class _SessionLoader(loading.session.Session):
    @property
    def plugin_class(self):
        return _Session


class _Describer:
    """Turns a keystoneauth exception into the one line that says which option to fix."""

    def __init__(self, conf: cfg.ConfigOpts, auth: Any):
        group = conf[GROUP]
        self.auth_url = getattr(auth, "auth_url", None) or "(no auth_url)"
        self.auth_type = group.auth_type
        self.username = _option(conf, "username") or _option(conf, "user_id")
        self.project = _option(conf, "project_name") or _option(conf, "project_id")
        self.region = group.region_name
        self.interfaces = group.valid_interfaces or [group.interface or "public"]
        self.service_type = group.service_type

    def __call__(self, exc: Exception) -> MistralAccessError:
        where = f"Keystone at {self.auth_url}"
        if isinstance(exc, ks_exc.EndpointNotFound):
            return MistralAccessError(
                f"[{GROUP}] region_name/valid_interfaces: no {self.service_type} endpoint in "
                f"the catalog of {where} (region {self.region or 'any'}, interface "
                f"{'/'.join(self.interfaces)}); or set [{GROUP}] url")
        if isinstance(exc, ks_exc.Unauthorized):
            option = "password" if self.username else "auth_type options"
            return MistralAccessError(
                f"[{GROUP}] {option}: {where} refused the credentials of user "
                f"{self.username or '(none)'} in project {self.project or '(none)'} (401)")
        if isinstance(exc, ks_exc.SSLError):
            return MistralAccessError(f"[{GROUP}] cafile: TLS with {where} failed: "
                                      f"{_reason(exc)}")
        if isinstance(exc, (ks_exc.ConnectionError, ks_exc.DiscoveryFailure)):
            return MistralAccessError(f"[{GROUP}] auth_url: cannot reach {where}: "
                                      f"{_reason(exc)}")
        if isinstance(exc, ks_exc.HttpError):
            return MistralAccessError(f"[{GROUP}] auth_url: {where} answered "
                                      f"{exc.http_status}: {exc.message}")
        return MistralAccessError(f"[{GROUP}] auth_type {self.auth_type}: {where}: {exc}")


def _option(conf: cfg.ConfigOpts, name: str) -> Any:
    try:
        return conf[GROUP][name]
    except cfg.NoSuchOptError:
        return None


def _reason(exc: Exception) -> str:
    """`Connection refused` out of urllib3's nested message, else the message itself."""
    text = str(exc)
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    return found.group(1).strip() if found else text
