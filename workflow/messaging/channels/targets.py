"""Where a webhook may go: public internet addresses only (no SSRF into the office's network).

Checked twice. At registration (``registry.add_producer``) a URL whose host is an address
literal (in any form the resolver accepts: ``127.1``, ``2130706433``, ``[::ffff:127.0.0.1]``)
or ``localhost`` is refused; a name is not looked up then, because what it resolves to can
change. At delivery the host is resolved, every address it resolves to must be public, and the
connection goes to one of exactly those addresses (``CheckedBackend``): the client does not
resolve the name a second time, so a name that answers a public address to the check and
127.0.0.1 to the connection (DNS rebinding) gains nothing. ``OCOP_WEBHOOK_ALLOW_PRIVATE=1``
(``Settings.webhook_allow_private``) lifts both checks, for tests and intranets.
"""

from __future__ import annotations

import ipaddress
import socket
import typing
from urllib.parse import urlsplit

import httpcore

from workflow.messaging.channels.base import PermanentFailure

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class RefusedTarget(PermanentFailure):
    """The webhook's host is, or resolves to, an address that is not public: not retried."""


def embedded(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped ``::ffff:a.b.c.d``, NAT64, 6to4), else it."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def refusal(address: IPAddress) -> str | None:
    """What kind of non-public address ``address`` is (words for a log), or None if public."""
    inner = embedded(address)
    for what, flag in (("loopback", "is_loopback"), ("link-local", "is_link_local"),
                       ("multicast", "is_multicast"), ("unspecified", "is_unspecified"),
                       ("private", "is_private"), ("reserved", "is_reserved")):
        if getattr(address, flag) or getattr(inner, flag):
            return what
    if not (address.is_global and inner.is_global):
        return "non-public"  # e.g. 100.64.0.0/10 (carrier-grade NAT), documentation ranges
    return None


def parse(text: str) -> IPAddress:
    return ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) dropped


def literal(host: str) -> list[IPAddress]:
    """The addresses ``host`` denotes without any DNS lookup: empty for a name."""
    try:
        found = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return []
    return [parse(str(info[4][0])) for info in found]


def registration_refusal(url: str) -> str | None:
    """The address that makes ``url`` unacceptable as a webhook (as text), or None. Only
    literals and local names are judged here; other names are judged at delivery."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return None  # not parseable: the client refuses it, and the delivery fails for good
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return host
    for address in literal(host):
        if refusal(address) is not None:
            return str(address)
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to for TCP (the order the resolver gives)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:  # temporary, maybe: retried
        raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
    addresses: list[IPAddress] = []
    for info in found:
        address = parse(str(info[4][0]))
        if address not in addresses:
            addresses.append(address)
    return addresses


def check(host: str, addresses: list[IPAddress]) -> None:
    """Refuse the delivery if ANY address of ``host`` is not public (a name may answer a mix)."""
    for address in addresses:
        what = refusal(address)
        if what is not None:
            raise RefusedTarget(
                f"The webhook host {host} resolves to {address}, a {what} address, and webhooks "
                "go only to public addresses (OCOP_WEBHOOK_ALLOW_PRIVATE=1 allows others).")


class CheckedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, but a connection goes only to an address that was checked."""

    def __init__(self, allow_private: bool = False) -> None:
        self.allow_private = allow_private
        self.inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None,
                    ) -> httpcore.NetworkStream:
        if self.allow_private:
            return self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        addresses = resolve(host, port)
        check(host, addresses)
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:  # the checked addresses, never the name again
            try:
                return self.inner.connect_tcp(str(address), port, timeout, local_address,
                                              socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        raise failure or httpcore.ConnectError(f"{host} has no address")

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: typing.Iterable[typing.Any] | None = None,
                            ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks do not go to Unix sockets")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)
