"""Which addresses outbound requests may reach: never this server's own network.

A project admin sets the URLs integrations post to (a webhook's URL, a Slack incoming-webhook
URL, a Segment host), so a URL must not become a way into the network this server sits in
(server-side request forgery). Two checks, one rule (:func:`why_refused`):

- when a URL is saved, its host as written (:func:`host_refusal`): an address literal, a
  loopback or cloud-metadata name. Names are not looked up then: saving makes no network call,
  and what a name resolves to may change after it is saved;
- when a connection opens (:class:`CheckedAdapter`, mounted on every destination's session):
  every address the name resolves to, and the socket connects to those very addresses, so a
  name that resolves to a public address when saved and to 127.0.0.1 later (DNS rebinding) is
  refused too, as is a redirect to a private host.

``SATISMETER["ALLOW_PRIVATE_DESTINATIONS"]`` lets an on-premises installation post to its own
network (loopback, private, link-local, ...); cloud metadata services stay refused whatever
the setting, since no integration has anything to post there.

An outbound proxy from the environment (``HTTPS_PROXY``) is connected to directly and
resolves the destination itself: behind one, the connect-time check sees only the proxy, and
the proxy should refuse private destinations in its turn.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Iterator

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family, create_connection

from ..conf import app_settings
from ..exceptions import DeliveryError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services hand out the cloud credentials of the machine that asks: AWS,
# Azure, GCP, OpenStack and others at 169.254.169.254, AWS over IPv6 at fd00:ec2::254, ECS
# task credentials at 169.254.170.2, Alibaba at 100.100.100.200; GCP's names for its own.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
# Carrier-grade NAT (RFC 6598): inside a provider's network, like the private ranges.
SHARED = ipaddress.ip_network("100.64.0.0/10")
# NAT64 (RFC 6052): an IPv6 address that a gateway turns into the IPv4 address in its low bits.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# The properties of ipaddress that mark an address as not for us, with their names for people.
KINDS = (
    ("is_unspecified", "an unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_private", "a private address"),
    ("is_reserved", "a reserved address"),
)
SETTING_HINT = (
    "SATISMETER['ALLOW_PRIVATE_DESTINATIONS'] allows private addresses for on-premises "
    "installations."
)


def why_refused(address: IPAddress) -> str:
    """What kind of address this is, when outbound requests may not reach it ("a loopback
    address"); "" when they may. An IPv6 address that carries an IPv4 one (mapped, NAT64,
    6to4, Teredo) is judged by that one too (:func:`_with_embedded`)."""
    for candidate in _with_embedded(address):
        if candidate in METADATA_ADDRESSES:
            return "a cloud metadata address"
    if app_settings.ALLOW_PRIVATE_DESTINATIONS:
        return ""
    for candidate in _with_embedded(address):
        kind = _kind(candidate)
        if kind:
            return kind
    return ""


def _kind(address: IPAddress) -> str:
    for attribute, kind in KINDS:
        if getattr(address, attribute):
            return kind
    if address in SHARED:
        return "a shared (carrier-grade NAT) address"
    return "" if address.is_global else "not a public address"


def _with_embedded(address: IPAddress) -> Iterator[IPAddress]:
    """The addresses that decide about ``address``: an IPv6 address that stands for an IPv4
    one (IPv4-mapped, NAT64) is that address; one that tunnels to an IPv4 one (6to4, Teredo)
    is judged by both, the IPv4 one first (it says more: "loopback" rather than "private")."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            yield address.ipv4_mapped
            return
        if address in NAT64:
            yield ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
            return
        if address.sixtofour:
            yield address.sixtofour
        if address.teredo:
            yield address.teredo[1]
    yield address


def parse_address(text: str) -> IPAddress | None:
    """``text`` as an IP address, including the old IPv4 forms the resolver still accepts
    (``127.1``, ``0x7f000001``, ``0177.0.0.1``); None for a host name."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except (OSError, ValueError):
        return None


def host_refusal(host: str) -> str:
    """Why a URL with this host (as written in it) may not be saved; "" when it may."""
    name = host.strip("[]").rstrip(".").lower()
    if name in METADATA_NAMES:
        return f"{host} is a cloud metadata service."
    address = parse_address(name)
    if address is not None:
        kind = why_refused(address)
        return f"{host} is {kind}. {_hint(kind)}".strip() if kind else ""
    local = name == "localhost" or name.endswith(".localhost")
    if local and not app_settings.ALLOW_PRIVATE_DESTINATIONS:
        return f"{host} is a loopback name. {SETTING_HINT}"
    return ""


def _hint(kind: str) -> str:
    return "" if kind == "a cloud metadata address" else SETTING_HINT


def checked_addresses(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, looked up once; a final DeliveryError naming the
    reason when the name or any of its addresses is refused (a name that resolves to a public
    and a private address is refused: which one a client picks is not ours to say)."""
    if host.rstrip(".").lower() in METADATA_NAMES:
        raise DeliveryError(f"Not sent: {host} is a cloud metadata service.", permanent=True)
    found = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    for address in addresses:
        kind = why_refused(ipaddress.ip_address(address))
        if kind:
            literal = address == host.strip("[]")
            where = f"{address} is" if literal else f"{host} resolves to {address},"
            raise DeliveryError(f"Not sent: {where} {kind}. {_hint(kind)}".strip(), permanent=True)
    return addresses


def connect_checked(connection: HTTPConnection) -> socket.socket:
    """A socket to the connection's host, opened only to addresses :func:`checked_addresses`
    allowed, with urllib3's own errors for the rest (name not found, timeout, refused)."""
    try:
        addresses = checked_addresses(connection._dns_host, connection.port)
        sock = _first_that_answers(connection, addresses)
    except socket.gaierror as exc:
        raise NameResolutionError(connection.host, connection, exc) from exc
    except TimeoutError as exc:
        message = f"Connection to {connection.host} timed out. (timeout={connection.timeout})"
        raise ConnectTimeoutError(connection, message) from exc
    except OSError as exc:
        message = f"Failed to establish a new connection: {exc}"
        raise NewConnectionError(connection, message) from exc
    sys.audit("http.client.connect", connection, connection.host, connection.port)
    return sock


def _first_that_answers(connection: HTTPConnection, addresses: list[str]) -> socket.socket:
    """Connect to the addresses in turn, as urllib3 does with what it resolves itself."""
    error: OSError = OSError(f"{connection.host} has no address")
    for address in addresses:
        try:
            return create_connection(
                (address, connection.port),
                connection.timeout,
                source_address=connection.source_address,
                socket_options=connection.socket_options,
            )
        except OSError as exc:
            error = exc
    raise error


class CheckedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return connect_checked(self)


class CheckedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return connect_checked(self)


class CheckedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = CheckedHTTPConnection


class CheckedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = CheckedHTTPSConnection


class CheckedAdapter(HTTPAdapter):
    """A requests transport whose connections open only to addresses the rule allows."""

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]
        self.poolmanager.pool_classes_by_scheme = {
            "http": CheckedHTTPConnectionPool,
            "https": CheckedHTTPSConnectionPool,
        }
