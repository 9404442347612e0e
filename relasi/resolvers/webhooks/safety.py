"""Which URLs a webhook may call (server-side request forgery).

An endpoint URL must be `https` and every address its host resolves to must be a public one:
not loopback, private, link-local (cloud metadata services live there), CGNAT, multicast,
unspecified or reserved, in IPv4 or IPv6 (an IPv4-mapped IPv6 address counts as its IPv4
address). The check runs when the endpoint is saved and again before every send; the send
then connects to the very address that was checked (the URL's host goes in the Host header and
TLS server name), so a DNS answer that changes between check and connect (rebinding) cannot
redirect it. Hosts listed in RELASI_WEBHOOK_ALLOWED_HOSTS skip the address check and may use
plain http (a receiver on the same machine or network, e.g. in tests).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL = 2_048
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class UnsafeUrl(Exception):
    """The URL may not be called; the message says why, for the client."""


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to `address` (None: resolve normally, an allowed host)."""

    url: str
    host: str
    port: int
    address: str | None


def refused_address(address: str) -> str | None:
    """Why an address may not be called, or None if it is a public one."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA:
        return "a cloud metadata address"
    for test, what in (
        (ip.is_loopback, "a loopback address"),
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_link_local, "a link-local address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "a carrier-grade NAT address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved or not ip.is_global, "a reserved address"),
    ):
        if test:
            return what
    return None


def parse(url: str, allowed_hosts: frozenset[str]) -> tuple[str, int, bool]:
    """(host, port, allowed) of a well-formed webhook URL; UnsafeUrl otherwise."""
    if len(url) > MAX_URL:
        raise UnsafeUrl(f"Must be at most {MAX_URL} characters (got {len(url)}).")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise UnsafeUrl(f"{url!r} is not a valid URL: {e}.") from None
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("https", "http"):
        raise UnsafeUrl("Must be an absolute https URL, e.g. https://example.com/hooks.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl(
            "Must not carry credentials (user:password@); authenticate with the signature instead."
        )
    if parts.fragment or any(c.isspace() or ord(c) < 32 for c in url):
        raise UnsafeUrl("Must not contain a fragment (#...), spaces or control characters.")
    allowed = host in allowed_hosts
    if parts.scheme == "http" and not allowed:
        raise UnsafeUrl("Must use https.")
    return host, port or (443 if parts.scheme == "https" else 80), allowed


async def resolve(url: str, allowed_hosts: frozenset[str]) -> Target:
    """Check `url` and its host's addresses now; the Target to connect to."""
    host, port, allowed = parse(url, allowed_hosts)
    if allowed:
        return Target(url, host, port, None)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError) as e:
        raise UnsafeUrl(f"The host {host!r} does not resolve ({e}).") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UnsafeUrl(f"The host {host!r} does not resolve.")
    for address in addresses:
        why = refused_address(address)
        if why is not None:
            raise UnsafeUrl(
                f"The host {host!r} resolves to {address}, {why}; webhooks only call public "
                "addresses."
            )
    return Target(url, host, port, addresses[0])
