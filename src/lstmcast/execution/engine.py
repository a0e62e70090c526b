"""Independent tasks in one process, on an embedded Dask LocalCluster, or on a Dask cluster.

The driver keeps the store and the network: workers get plain arguments (configs, price
frames scattered once to every worker) and return plain results. Each worker runs one task
at a time with its share of the cores as torch threads (`Parallel.threads_for`). Dask is
imported only when a cluster is asked for.

Dask sends tasks and results as pickles: whoever runs the scheduler can run code in this
process and in the workers. Use only a scheduler you trust; across a network, use TLS
(`--cluster tls://HOST:PORT --cluster-security FILE`) so nobody else can join or listen.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from lstmcast.errors import ConfigError, TemporaryError
from lstmcast.threadpolicy import free_cores, pin_share, usable_cores
from lstmcast.tomlfile import read_toml

if TYPE_CHECKING:
    from distributed import Client, Security

RETRIES = 2  # a task whose worker died is run again this often before it counts as failed
CONNECT_TIMEOUT_S = 5  # an unreachable scheduler: one line and exit 75, never a hang
HANDSHAKE_GRACE_S = 2  # then a server that accepts and never answers is given up on too
MAX_WORKERS = 1024  # worker processes on one machine: beyond this, a typo


V = TypeVar("V")


@dataclass
class TaskOutcome(Generic[V]):
    key: str
    value: V | None = None  # None when the task failed
    error: BaseException | None = None
    seconds: float = 0.0

    def get(self) -> V:
        """The task's value, or its error raised here."""
        if self.error is not None:
            raise self.error
        assert self.value is not None  # a task that did not fail returned its value
        return self.value


def cores() -> int:
    """The CPU cores this process may use (its affinity mask, as a container or taskset sets it)."""
    return len(usable_cores())


@dataclass(frozen=True)
class Parallel:
    """Where independent tasks run: here (one worker, no cluster), on `workers` local worker
    processes, or on the Dask scheduler at `cluster`, over TLS with the certificates that the
    `security` file names."""

    workers: int = 1
    cluster: str | None = None
    security: Path | None = None

    def __post_init__(self) -> None:
        """A malformed address, or TLS settings that do not match it, refused before any work."""
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ConfigError(f"--workers must be between 1 and {MAX_WORKERS}, got {self.workers}")
        if self.cluster is None:
            if self.security is not None:
                raise ConfigError("--cluster-security is for a tls:// --cluster; no --cluster was given")
            return
        tls = check_address(self.cluster).startswith("tls://")
        if tls and self.security is None:
            raise ConfigError(
                f"--cluster {self.cluster} is TLS: give --cluster-security FILE with its certificates"
            )
        if self.security is not None and not tls:
            raise ConfigError(
                "--cluster-security is for a tls:// scheduler address; this one is not encrypted"
            )
        if self.security is not None:
            check_security(self.security)  # a bad certificate refused before any work

    @property
    def distributed(self) -> bool:
        return self.workers > 1 or self.cluster is not None

    def threads_per_worker(self, ncores: int | None = None) -> int | None:
        """Torch threads each local worker gets: its share of the cores other work leaves free
        (`threadpolicy.free_cores`, or `ncores`), max(1, free // workers). None on a remote
        cluster, where each worker decides from its own `--nthreads`."""
        if self.cluster is not None:
            return None
        return max(1, (ncores or free_cores()) // max(1, self.workers))


def cuda_wanted(device: str) -> bool:
    """Whether tasks with this --device will train on a CUDA GPU here (imports torch only when
    the answer is not plain from the name)."""
    if device == "auto":
        device = os.environ.get("LSTMCAST_DEVICE", "auto")
    if device in ("cpu", "mps"):
        return False
    import torch

    return bool(torch.cuda.is_available())


SECURITY_KEYS = {"ca_file": "tls_ca_file", "cert": "tls_client_cert", "key": "tls_client_key"}


def check_security(path: Path) -> dict[str, str]:
    """The PEM files a TOML file names (relative to the file): `ca_file` (the CA that signed
    the scheduler's certificate), `cert` and, unless the cert holds it, `key` (this client's
    certificate), each checked as TLS will read it: a file that is not PEM, or a key that does
    not match its certificate, is a ConfigError naming the file, before any connection (it
    used to surface as "cannot reach" the scheduler, exit 75, as if trying later could help)."""
    doc, _ = read_toml(path, "--cluster-security file")
    unknown = sorted(set(doc) - set(SECURITY_KEYS))
    if unknown:
        raise ConfigError(
            f"--cluster-security {path}: unknown key {unknown[0]!r} (known: {', '.join(SECURITY_KEYS)})"
        )
    for needed in ("ca_file", "cert"):
        if not isinstance(doc.get(needed), str):
            raise ConfigError(f'--cluster-security {path}: {needed} = "FILE.pem" is needed')
    files: dict[str, str] = {}
    for key, value in doc.items():
        pem = (path.parent / str(value)).resolve()
        if not pem.is_file():
            raise ConfigError(f"--cluster-security {path}: {key} {pem} is not a file")
        files[SECURITY_KEYS[key]] = str(pem)
    try:
        context = ssl.create_default_context(cafile=files["tls_ca_file"])
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigError(
            f"--cluster-security {path}: ca_file {files['tls_ca_file']} is not a PEM certificate ({exc})"
        ) from None
    try:
        context.load_cert_chain(files["tls_client_cert"], files.get("tls_client_key"))
    except (ssl.SSLError, ValueError) as exc:
        named = "cert" if "tls_client_key" not in files else "cert and key"
        raise ConfigError(
            f"--cluster-security {path}: {named} ({', '.join(files[k] for k in files if k != 'tls_ca_file')})"
            f" are not a matching PEM certificate and key ({exc})"
        ) from None
    return files


def load_security(path: Path) -> Security:
    """A distributed.Security from the TOML file at `path` (`check_security`). Encryption is
    required."""
    from distributed import Security

    return Security(require_encryption=True, **check_security(path))


SCHEMES = ("tcp", "tls")  # the transports a scheduler elsewhere is reached by
_ADDRESS = re.compile(
    r"(?:(?P<scheme>[a-z]+)://)?(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(?P<port>\d{1,5})"
)


def check_address(cluster: str) -> str:
    """A scheduler address as distributed takes it, `tcp://HOST:PORT` (or `HOST:PORT`, tls://,
    ...), or a ConfigError in one line: a malformed one never reaches distributed."""
    m = _ADDRESS.fullmatch(cluster.strip())
    if m is not None and m["scheme"] in ("inproc", "ucx"):
        why = "in-process only" if m["scheme"] == "inproc" else "it needs ucx-py and UCX hardware"
        raise ConfigError(
            f"--cluster {cluster!r}: lstmcast reaches a scheduler by tcp:// or tls://, not"
            f" {m['scheme']}:// ({why})"
        )
    if m is None or (m["scheme"] or "tcp") not in SCHEMES or not 0 < int(m["port"]) < 65536:
        raise ConfigError(
            f"--cluster {cluster!r} is not a Dask scheduler address; give tcp://HOST:PORT"
            f" (schemes: {', '.join(SCHEMES)})"
        )
    return cluster.strip()


def _connect(client_type: type[Client], cluster: str, security: Path | None = None) -> Client:
    """A Client to the scheduler at `cluster`, or a TemporaryError within CONNECT_TIMEOUT_S +
    HANDSHAKE_GRACE_S: distributed's own timeout covers an unreachable port, not a server
    that accepts and never answers (an HTTP server, a stray socket), which used to hang."""
    address = check_address(cluster)
    options: dict[str, object] = {"security": load_security(security)} if security is not None else {}
    got: dict[str, Client] = {}
    failed: list[BaseException] = []
    made: list[Client] = []

    class Tracked(client_type):  # type: ignore[misc,valid-type]
        """The client, kept hold of before it connects: a failed start leaves it half made."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            made.append(self)
            super().__init__(*args, **kwargs)

    def attempt() -> None:
        try:
            got["client"] = Tracked(address, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False, **options)
        except BaseException as exc:  # handed to the caller below
            failed.append(exc)

    thread = threading.Thread(target=attempt, name="lstmcast-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT_S + HANDSHAKE_GRACE_S)
    if thread.is_alive():
        raise TemporaryError(
            f"cannot reach the Dask scheduler at {address}: no Dask handshake within"
            f" {CONNECT_TIMEOUT_S + HANDSHAKE_GRACE_S}s (is it a Dask scheduler?)"
        )
    if failed:
        exc = failed[0]
        _discard(made)
        if isinstance(exc, (OSError, TimeoutError)):
            raise TemporaryError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
        # Something answered, but not in Dask's protocol (a frame it read as 3 EiB long, ...):
        # the address is wrong, and trying again later will not help.
        raise ConfigError(
            f"--cluster {address} answered, but not as a Dask scheduler ({type(exc).__name__}); check the"
            " address and port"
        ) from None
    return got["client"]


def _discard(made: list[Client]) -> None:
    """Close the half-made client a failed connection left behind: otherwise its `__del__`
    waits 10 s at exit to close a connection that never was, then prints a traceback."""
    for client in made:
        with contextlib.suppress(Exception):
            client.status = "closed"  # what `close` checks: nothing left to close
            client._loop_runner.stop()


_HELD: list[tuple[Parallel, Client]] = []  # clients kept open by `held_cluster`, innermost last


@contextmanager
def held_cluster(parallel: Parallel) -> Iterator[None]:
    """One cluster (or one connection) for every task set run inside: a sweep's or a tune's
    many walk-forwards start their LocalCluster once, not once each. Nothing serially."""
    if not parallel.distributed:
        yield
        return
    with dask_client(parallel) as client:
        _HELD.append((parallel, client))
        try:
            yield
        finally:
            _HELD.pop()


@contextmanager
def dask_client(parallel: Parallel) -> Iterator[Client]:
    """A distributed.Client: to the scheduler at `parallel.cluster`, or to an embedded
    LocalCluster of `parallel.workers` worker processes, one task at a time each (no dashboard);
    the one `held_cluster` keeps for `parallel`, when it keeps one."""
    from distributed import Client, LocalCluster

    for held, client in reversed(_HELD):
        if held == parallel:
            yield client
            return

    if parallel.cluster is not None:
        client = _connect(Client, parallel.cluster, parallel.security)
        try:
            yield client
        finally:
            client.close()
        return
    local = LocalCluster(
        n_workers=parallel.workers,
        threads_per_worker=1,  # Dask's task slots; torch's threads are set per task
        processes=True,
        # No dashboard; the scheduler's small HTTP server (metrics) takes a free port instead of
        # 8787, so a second lstmcast, or anything else on 8787, neither clashes nor warns.
        dashboard_address=":0",
        scheduler_kwargs={"dashboard": False},
        silence_logs=logging.ERROR,
    )
    client = Client(local, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        local.close()


def threaded(fn: Callable[..., V], threads: int | None) -> Callable[..., V]:
    """`fn` run with `threads` torch threads, or on a remote worker with its share of that
    machine's cores: cores // the worker's `--nthreads` (the tasks it runs at once)."""

    def task(**kwargs: object) -> V:
        from lstmcast.training.runtime import set_threads

        n = threads
        if n is None:
            from distributed import get_worker

            n = max(1, cores() // max(1, get_worker().state.nthreads))
        pin_share(n)  # `--threads 0` inside the task means this share, not the whole machine
        set_threads(n)
        return fn(**kwargs)

    return task
