"""Leader election on a `coordination.k8s.io/v1` Lease, in front of kopf: one replica acts.

Why not kopf's peering: it pauses operators of lower priority while one of higher priority
runs, and operators of *equal* priority all freeze with a warning — replicas of one Deployment
are equal, so peering would either need a priority per pod or serve nothing. A Lease is what
Kubernetes' own controllers use (client-go's leaderelection): the holder renews it every
`retry` seconds; a standby takes it once it has seen no renewal for `lease` seconds (measured
on its own clock from when it last saw the record change, so clocks need not agree), or at
once when the holder released it on a graceful shutdown. A holder that cannot renew for
`renew_deadline` (< `lease`) seconds exits at once, before any standby may take over.

kopf starts only once the lease is held, so a standby watches nothing and writes nothing; it
serves the health endpoint itself (the pod stays Ready and live).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, model_validator

log = logging.getLogger("kflow.operator.leader")

# The exit code of a leader that lost its lease: the kubelet restarts the container, which comes
# back as a standby.
LOST_LEASE_EXIT = 75


class LeaderElection(BaseModel):
    """Which Lease, who we are, and the timings (client-go's defaults, but a 1 s retry: 15 / 10 / 1 s)."""

    name: str = Field(description="Name of the Lease.")
    namespace: str = Field(description="Namespace of the Lease (the operator's own).")
    identity: str = Field(default_factory=lambda: default_identity(), description="This process, as written in holderIdentity.")
    lease_seconds: int = Field(15, ge=2, description="A lease not renewed for this long is free.")
    renew_deadline_seconds: float = Field(10, gt=0, description="A leader that could not renew for this long exits.")
    retry_seconds: float = Field(1, gt=0, description="How often the leader renews and a standby tries.")

    @model_validator(mode="after")
    def _deadline_within_lease(self) -> LeaderElection:
        if self.renew_deadline_seconds >= self.lease_seconds:
            raise ValueError("renew_deadline_seconds must be shorter than lease_seconds")
        return self


def default_identity() -> str:
    """The pod's name (or host) and a random suffix: a restarted container is a new candidate."""
    pod = os.environ.get("KFLOW_POD_NAME") or os.environ.get("HOSTNAME") or "kflow-operator"
    return f"{pod}_{uuid.uuid4().hex[:8]}"


class LeaseLost(Exception):
    """The lease is no longer ours: another holder has it, or it could not be renewed in time."""


def _now_micro() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseClient:
    """Acquire, renew and release one Lease with the synchronous client (run in a thread).

    Every write carries the resourceVersion it read, so two candidates never both win.
    """

    def __init__(self, config: LeaderElection, api_client=None):
        from kubernetes import client

        self.config = config
        self.api = client.CoordinationV1Api(api_client or client.ApiClient())
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0
        self.holder: str | None = None  # as last read
        self.previous_holder: str | None = None  # before our last takeover

    def _read(self) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            resp = self.api.read_namespaced_lease(self.config.name, self.config.namespace, _preload_content=False)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return json.loads(resp.data)

    def try_acquire_or_renew(self) -> bool:
        """True when we hold the lease now (created, taken over or renewed)."""
        now = _now_micro()
        lease = self._read()
        me = self.config.identity
        if lease is None:
            body = {
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.config.name, "namespace": self.config.namespace},
                "spec": {"holderIdentity": me, "leaseDurationSeconds": self.config.lease_seconds,
                         "acquireTime": now, "renewTime": now, "leaseTransitions": 0},
            }
            return self._won(self.api.create_namespaced_lease, self.config.namespace, body)
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or None
        self.holder = holder
        record = (holder, spec.get("renewTime"), spec.get("leaseDurationSeconds"), spec.get("acquireTime"))
        if record != self._observed:
            self._observed, self._observed_at = record, time.monotonic()
        duration = spec.get("leaseDurationSeconds") or self.config.lease_seconds
        if holder and holder != me and time.monotonic() < self._observed_at + duration:
            return False  # held by another, and renewed within its duration as far as we saw
        taking_over = holder != me
        if taking_over:
            self.previous_holder = holder
        spec = {
            **spec,
            "holderIdentity": me,
            "leaseDurationSeconds": self.config.lease_seconds,
            "renewTime": now,
            "acquireTime": now if taking_over else spec.get("acquireTime") or now,
            "leaseTransitions": (spec.get("leaseTransitions") or 0) + (1 if taking_over else 0),
        }
        return self._won(self.api.replace_namespaced_lease, self.config.name, self.config.namespace, {**lease, "spec": spec})

    def _won(self, write: Callable[..., Any], *args: Any) -> bool:
        """Write the lease with us as holder; False when another write came first (409)."""
        from kubernetes.client.exceptions import ApiException

        try:
            write(*args)
        except ApiException as err:
            if err.status == 409:
                return False
            raise
        self.holder = self.config.identity
        return True

    def release(self) -> None:
        """Give the lease up at once (graceful shutdown): a standby takes it on its next try."""
        lease = self._read()
        if lease is None or (lease.get("spec") or {}).get("holderIdentity") != self.config.identity:
            return
        now = _now_micro()
        lease["spec"].update({"holderIdentity": None, "leaseDurationSeconds": 1, "renewTime": now, "acquireTime": now})
        self.api.replace_namespaced_lease(self.config.name, self.config.namespace, lease)


class Health:
    """`GET <path>` for the kubelet's probes: 200 while this process does its part (either role)."""

    def __init__(self) -> None:
        self.role = "standby"
        self.renewed = time.monotonic()

    @contextlib.asynccontextmanager
    async def serving(self, endpoint: str | None, renew_deadline: float) -> AsyncIterator[None]:
        if not endpoint:
            yield
            return
        from aiohttp import web

        url = urlsplit(endpoint)

        async def probe(_: web.Request) -> web.Response:
            stale = self.role == "leader" and time.monotonic() - self.renewed > renew_deadline
            return web.json_response({"role": self.role}, status=503 if stale else 200)

        app = web.Application()
        app.router.add_get(url.path or "/", probe)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, url.hostname or "0.0.0.0", url.port or 80).start()
        try:
            yield
        finally:
            await runner.cleanup()


def _exit_now(message: str) -> None:
    """Stop acting this instant: no handler may write once another replica can lead."""
    log.critical("%s; exiting so the pod restarts as a standby", message)
    logging.shutdown()
    sys.stderr.flush()
    os._exit(LOST_LEASE_EXIT)


async def _call(fn: Callable[[], Any]) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, fn)


async def _wait_for_lease(lease: LeaseClient, stop: asyncio.Event) -> bool:
    """Try every `retry` seconds until we hold the lease (True) or are asked to stop (False)."""
    waiting_logged = None
    while not stop.is_set():
        try:
            if await _call(lease.try_acquire_or_renew):
                return True
        except Exception as err:  # noqa: BLE001 - the API server may be briefly away: retry
            log.warning("cannot read or take lease %s/%s: %s", lease.config.namespace, lease.config.name, err)
        if lease.holder != waiting_logged:
            waiting_logged = lease.holder
            log.info("standby: lease %s/%s is held by %s", lease.config.namespace, lease.config.name, lease.holder)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), lease.config.retry_seconds)
    return False


async def _keep_lease(lease: LeaseClient, health: Health) -> None:
    """Renew every `retry` seconds; raise LeaseLost when another holds it or the deadline passes."""
    config = lease.config
    while True:
        await asyncio.sleep(config.retry_seconds)
        try:
            renewed = await asyncio.wait_for(_call(lease.try_acquire_or_renew), config.renew_deadline_seconds)
        except Exception as err:  # noqa: BLE001 - retried until the deadline
            log.warning("cannot renew lease %s/%s: %s", config.namespace, config.name, err)
            renewed = False
        if renewed:
            health.renewed = time.monotonic()
        elif lease.holder not in (None, config.identity):
            raise LeaseLost(f"lease {config.namespace}/{config.name} is now held by {lease.holder}")
        if time.monotonic() - health.renewed > config.renew_deadline_seconds:
            raise LeaseLost(f"lease {config.namespace}/{config.name} not renewed for {config.renew_deadline_seconds:g} s")


async def run_as_leader(config: LeaderElection, operator: Callable[[asyncio.Event, asyncio.Event], Awaitable[None]],
                        health_endpoint: str | None = None, api_client=None) -> None:
    """Wait for the lease, then run `operator(stop, ready)` (kopf's stop and ready flags) while
    renewing it; release the lease when it returns.

    SIGTERM while standing by returns at once. While leading it sets `stop`: kopf stops
    gracefully (its own signal handler, replaced here once it is ready, would leave kopf
    waiting 5 s on its stop-flag waiter), then the lease is released, so a standby takes over
    within `retry` seconds.
    """
    lease = LeaseClient(config, api_client)
    health = Health()
    loop = asyncio.get_running_loop()
    stop, ready = asyncio.Event(), asyncio.Event()

    def on_signals() -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)

    async def take_signals_back() -> None:
        await ready.wait()
        on_signals()

    on_signals()
    async with health.serving(health_endpoint, config.renew_deadline_seconds):
        log.info("leader election: %s competes for lease %s/%s", config.identity, config.namespace, config.name)
        if not await _wait_for_lease(lease, stop):
            log.info("stopped while standing by")
            return
        log.info("leader: acquired lease %s/%s as %s (previous holder: %s)", config.namespace, config.name, config.identity,
                 lease.previous_holder)
        health.role, health.renewed = "leader", time.monotonic()
        # Tasks made before kopf starts are not kopf's: it neither waits for nor cancels them.
        keeper = asyncio.create_task(_keep_lease(lease, health), name="kflow-lease-keeper")
        signals = asyncio.create_task(take_signals_back(), name="kflow-signals")
        acting = asyncio.create_task(operator(stop, ready), name="kflow-operator")
        try:
            done, _ = await asyncio.wait({keeper, acting}, return_when=asyncio.FIRST_COMPLETED)
            if keeper in done:
                err = keeper.exception()
                _exit_now(str(err) if err else "lease keeper stopped")
            await acting  # re-raises the operator's error, if any
        finally:
            for task in (keeper, signals):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            try:
                await _call(lease.release)
                log.info("released lease %s/%s", config.namespace, config.name)
            except Exception as err:  # noqa: BLE001 - it expires on its own
                log.warning("could not release lease %s/%s (it expires in %d s): %s", config.namespace, config.name,
                            config.lease_seconds, err)
