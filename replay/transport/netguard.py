"""Network blocking while a cassette is active, for clients llm-replay does not intercept.

httpx2/httpx (any transport), ``requests``/``urllib3`` (botocore) and ``aiohttp`` requests never
reach the network in replay: their adapters answer them or raise. Other clients (raw sockets,
``http.client``, gRPC, websockets, C extensions with their own socket code such as pycurl) would
go straight out. With ``block_network=True`` (``--replay-block-network``) every
socket connection, datagram and DNS lookup made while the cassette is active is refused with
:class:`NetworkBlockedError`, except:

- connections llm-replay's own recorder opens for an httpx2/httpx request that the record mode
  allows to record (the transport marks them; nothing else is let through);
- hosts listed in ``allowed_hosts`` (names, IP addresses, ``fnmatch`` patterns such as
  ``*.internal``; ``"localhost"`` or ``"loopback"`` admits every loopback address);
- Unix domain sockets (local IPC, never the network).

The error is not an ``OSError``: client libraries wrap ``OSError`` into their own connection
errors and retry them; a blocked connection must fail at once, loudly. The guard patches the
Python-level ``socket.socket.connect``/``connect_ex``/``sendto`` and ``socket.getaddrinfo``;
code calling the C socket API directly (uvloop, C extensions) is not covered.

Example usage::

    with replay.use_cassette("cassettes/chat.yaml", block_network=True):
        requests.get("https://example.com")   # raises replay.NetworkBlockedError
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Any

__all__ = ["NetworkBlockedError", "NetworkPolicy", "block", "permit_recording", "recording", "unblock"]


class NetworkBlockedError(BaseException):
    """A connection was refused because network blocking is on for the active cassette.

    A ``BaseException``, as :class:`~replay.errors.NoMatchingInteraction` is: it is raised inside
    the application's call stack, where an ``except Exception:`` fallback or an HTTP library's
    retry loop must not turn "the test tried to reach the network" into a silent fallback.
    """


_LOOPBACK_NAMES = frozenset({"localhost", "loopback", "localhost.localdomain", "ip6-localhost"})


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Whether to block the network during a cassette, and which hosts stay reachable."""

    block: bool = False
    allowed_hosts: tuple[str, ...] = ()

    @classmethod
    def build(cls, block_network: Any = False, allowed_hosts: Any = None) -> NetworkPolicy:
        """Validate user-facing options (raises ValueError saying what is wrong)."""
        if not isinstance(block_network, bool):
            raise ValueError(f"block_network must be True or False, got {block_network!r}")
        if allowed_hosts is None:
            hosts: tuple[str, ...] = ()
        elif isinstance(allowed_hosts, str):
            hosts = tuple(h.strip() for h in allowed_hosts.split(",") if h.strip())
        elif isinstance(allowed_hosts, Iterable) and all(isinstance(h, str) for h in allowed_hosts):
            hosts = tuple(h.strip() for h in allowed_hosts if h.strip())
        else:
            raise ValueError(
                "allowed_hosts must be a list of host names or IP addresses (or one comma-separated "
                f"string), e.g. ['localhost', '10.0.0.5', '*.internal']; got {allowed_hosts!r}"
            )
        return cls(block=block_network, allowed_hosts=tuple(h.lower() for h in hosts))

    def allows_loopback(self) -> bool:
        return any(h in _LOOPBACK_NAMES for h in self.allowed_hosts)

    def allows_name(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        if host in _LOOPBACK_NAMES:
            return self.allows_loopback()
        return any(fnmatch(host, pattern) for pattern in self.allowed_hosts)

    def allows_ip(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip.split("%")[0])
        except ValueError:
            return self.allows_name(ip)
        if addr.is_loopback and self.allows_loopback():
            return True
        return any(fnmatch(str(addr), pattern) for pattern in self.allowed_hosts)


# -- process-wide state ------------------------------------------------------------------------

_lock = threading.RLock()
_active: list[tuple[NetworkPolicy, str]] = []  # innermost last
_originals: dict[str, Any] = {}
# Set while llm-replay's recorder sends a request it is allowed to record (a context variable,
# so it follows the request into tasks the client spawns).
_recording: ContextVar[bool] = ContextVar("llm_replay_recording", default=False)
# Hosts being recorded right now: DNS lookups for them may run in an executor thread that does
# not inherit the context variable.
_recording_hosts: Counter[str] = Counter()
# Addresses that allowed host names resolved to.
_resolved_allowed: set[str] = set()


def block(policy: NetworkPolicy, where: str) -> None:
    """Start blocking (``where`` names the cassette in errors); pair with :func:`unblock`."""
    with _lock:
        if not _active:
            _install()
        _active.append((policy, where))


def unblock(policy: NetworkPolicy, where: str) -> None:
    with _lock:
        if (policy, where) in _active:
            _active.remove((policy, where))
        if not _active:
            _uninstall()
            _resolved_allowed.clear()


@contextlib.contextmanager
def permit_recording(host: str) -> Iterator[None]:
    """Let the recorder's own connection (and DNS lookup) for ``host`` through."""
    token = _recording.set(True)
    key = host.lower()
    with _lock:
        _recording_hosts[key] += 1
    try:
        yield
    finally:
        with _lock:
            _recording_hosts[key] -= 1
            if _recording_hosts[key] <= 0:
                del _recording_hosts[key]
        _recording.reset(token)


def recording() -> bool:
    """True inside :func:`permit_recording` (a request an adapter is recording)."""
    return _recording.get()


def _current() -> tuple[NetworkPolicy, str] | None:
    return _active[-1] if _active else None


def _refuse(where: str, target: str, what: str) -> NetworkBlockedError:
    return NetworkBlockedError(
        f"llm-replay blocked {what} {target}: network blocking is on while cassette {where} is active "
        "(block_network=True / --replay-block-network). httpx2/httpx, requests/urllib3 (botocore) and "
        "aiohttp requests are recorded and replayed; this one came from another client (a raw socket, "
        "http.client, gRPC, websockets...), so it would have reached the network. Use one of those "
        "clients, or "
        "allow the host with allowed_hosts=[...] (--replay-allowed-hosts; 'localhost' admits loopback)."
    )


def _check_address(family: int, address: Any, what: str) -> None:
    current = _current()
    if current is None or _recording.get():
        return
    if family == getattr(socket, "AF_UNIX", None):
        return
    if not isinstance(address, tuple) or not address:
        return
    host, port = str(address[0]), address[1] if len(address) > 1 else ""
    policy, where = current
    if policy.allows_ip(host) or host in _resolved_allowed:
        return
    raise _refuse(where, f"{host}:{port}", what)


def _check_connect(sock: socket.socket, address: Any) -> None:
    try:
        _check_address(sock.family, address, "a connection to")
    except NetworkBlockedError:
        # Client libraries close a socket whose connect failed only for OSError; close it here
        # so a refused connection does not leak a socket (and a ResourceWarning) as well.
        sock.close()
        raise


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


_PATCHED = ("connect", "connect_ex", "sendto")


def _install() -> None:
    sock_cls = socket.socket
    # Remember whether socket.socket defined each method itself or inherited it from the C
    # class, so uninstalling restores exactly what was there (another patch included).
    for name in _PATCHED:
        _originals[name] = (name in sock_cls.__dict__, getattr(sock_cls, name))
    _originals["getaddrinfo"] = (True, socket.getaddrinfo)
    original_connect = _originals["connect"][1]
    original_connect_ex = _originals["connect_ex"][1]
    original_sendto = _originals["sendto"][1]
    original_getaddrinfo = _originals["getaddrinfo"][1]

    def connect(self: socket.socket, address: Any) -> None:
        _check_connect(self, address)
        return original_connect(self, address)  # type: ignore[no-any-return]

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check_connect(self, address)
        return original_connect_ex(self, address)  # type: ignore[no-any-return]

    def sendto(self: socket.socket, *args: Any) -> int:
        _check_address(self.family, args[-1], "a datagram to")
        return original_sendto(self, *args)  # type: ignore[no-any-return]

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        current = _current()
        name = host.decode("idna") if isinstance(host, bytes) else host
        if current is None or not isinstance(name, str) or not name or _is_ip(name):
            return original_getaddrinfo(host, port, *args, **kwargs)
        policy, where = current
        lname = name.lower().rstrip(".")
        recording = _recording.get() or lname in _recording_hosts
        if not recording and not policy.allows_name(lname):
            raise _refuse(where, f"{name}:{port}", "a DNS lookup for")
        result = original_getaddrinfo(host, port, *args, **kwargs)
        if not recording:
            with _lock:
                _resolved_allowed.update(str(info[4][0]) for info in result)
        return result

    setattr(sock_cls, "connect", connect)  # noqa: B010
    setattr(sock_cls, "connect_ex", connect_ex)  # noqa: B010
    setattr(sock_cls, "sendto", sendto)  # noqa: B010
    setattr(socket, "getaddrinfo", getaddrinfo)  # noqa: B010


def _uninstall() -> None:
    if not _originals:
        return
    for name in _PATCHED:
        own, value = _originals.pop(name)
        if own:
            setattr(socket.socket, name, value)
        else:
            delattr(socket.socket, name)
    socket.getaddrinfo = _originals.pop("getaddrinfo")[1]
