"""The broker, opened from `[DEFAULT] transport_url`, with its faults as one-line errors.

oslo.messaging retries an unreachable broker for ever (right: it may come later), but an
unknown driver or a refused login never heals by waiting; those become BrokerNotReady, whose
text names the option to fix and never shows the password.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import oslo_messaging as messaging

from nfvmon.errors import BrokerNotReady

LOGIN_TIMEOUT = 5.0  # seconds the login check waits for a broker that does not answer


def rpc_transport(conf) -> messaging.Transport:
    """`messaging.get_rpc_transport(conf)`, or BrokerNotReady for a URL no driver takes."""
    try:
        url = messaging.TransportURL.parse(conf)  # registers transport_url, then reads it
    except (messaging.InvalidTransportURL, ValueError) as exc:
        raise BrokerNotReady(f"not a transport URL: {exc}") from None
    known = sorted({e.name for e in entry_points(group="oslo.messaging.drivers")})
    driver = (url.transport or "").split("+")[0]
    if driver and driver not in known:
        # Checked here, not left to oslo.messaging: it logs a warning of its own first.
        raise BrokerNotReady(f"no transport driver {driver!r} (installed: "
                             f"{', '.join(known)})")
    try:
        return messaging.get_rpc_transport(conf)
    except messaging.DriverLoadFailure as exc:
        raise BrokerNotReady(f"transport driver {exc.driver!r} does not load: "
                             f"{exc.ex}") from None


def refusal(exc: BaseException) -> BrokerNotReady | None:
    """The BrokerNotReady for a login or virtual host the broker refused (in `exc`'s chain)."""
    try:
        from amqp.exceptions import AccessRefused, NotAllowed
    except ImportError:  # no AMQP driver installed: nothing of the kind to recognise
        return None
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, AccessRefused):
            return BrokerNotReady("the broker refused the login (ACCESS_REFUSED): check the "
                                  "user name and password")
        if isinstance(exc, NotAllowed):
            return BrokerNotReady("the broker refused the virtual host (NOT_ALLOWED): check "
                                  "the path of the URL and the user's permissions")
        exc = exc.__cause__ or exc.__context__
    return None


def check_login(conf, timeout: float = LOGIN_TIMEOUT) -> None:
    """Raise BrokerNotReady if a RabbitMQ broker refuses the configured login.

    A broker that cannot be reached passes: casts to monitors are best-effort (their check-in
    is the backstop), so a command must not fail while the broker restarts.
    """
    url = messaging.TransportURL.parse(conf)
    if url.transport not in ("rabbit", "kombu") or not url.hosts:
        return
    import kombu

    host = url.hosts[0]
    connection = kombu.Connection(
        hostname=host.hostname or "localhost", port=host.port or 5672,
        userid=host.username or "guest", password=host.password or "guest",
        virtual_host=url.virtual_host or "/", connect_timeout=timeout,
        ssl=bool(getattr(conf.oslo_messaging_rabbit, "ssl", False)))
    try:
        connection.ensure_connection(max_retries=1, interval_start=0)
    except Exception as exc:  # noqa: BLE001 - only a refusal is an error here
        refused = refusal(exc)
        if refused is not None:
            raise refused from None
    finally:
        connection.release()
