"""`kflow ui`: serve the web UI for the current kubeconfig's cluster (or in a pod, for Helm's `ui.enabled`)."""

from __future__ import annotations

import argparse
import asyncio
import os

from kflow.client.kube import add_cluster_args

DEFAULT_PORT = 8090


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "ui", help="serve the web UI (flows, executions, logs, actions)",
        description="Serve the web UI on http://127.0.0.1:8090 (--port, --address) for the cluster of the kubeconfig. "
        "With --auth token each user signs in with their own Kubernetes token and their RBAC applies.",
    )
    parser.add_argument("--port", "-p", type=int, default=int(os.environ.get("KFLOW_UI_PORT") or DEFAULT_PORT), help="port (default 8090)")
    parser.add_argument("--address", default=os.environ.get("KFLOW_UI_ADDRESS") or "127.0.0.1",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 in a pod)")
    parser.add_argument("--auth", choices=("kubeconfig", "token"), default=os.environ.get("KFLOW_UI_AUTH") or "kubeconfig",
                        help="kubeconfig: every request uses these credentials (default); token: users sign in with their own bearer token")
    parser.add_argument("--read-only", action="store_true", default=os.environ.get("KFLOW_UI_READ_ONLY", "").lower() in ("1", "true"),
                        help="no kill/restart/resume/replay/execute buttons")
    parser.add_argument("--storage", metavar="URL", help="internal storage where runners keep logs and FILE inputs go: dir:/path or s3://bucket?endpoint=... (default: $KFLOW_STORAGE)")
    add_cluster_args(parser, all_namespaces=True)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kflow.client.inputs import UsageError
    from kflow.client.kube import connect

    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: expected a port number from 1 to 65535")
    cluster = connect(args)
    try:
        asyncio.run(serve(cluster, args))
    except KeyboardInterrupt:
        pass
    return 0


async def serve(cluster, args: argparse.Namespace) -> None:
    from aiohttp import web

    from kflow.client.inputs import UsageError
    from kflow.ui.access import Access
    from kflow.ui.hub import WatchHub
    from kflow.ui.server import LOOPBACK_HOSTS, make_app

    access = Access(cluster, args.all_namespaces, args.auth, allow_actions=not args.read_only)
    hub = WatchHub(cluster.api, None if args.all_namespaces else cluster.namespace)
    storage = args.storage or os.environ.get("KFLOW_STORAGE") or None
    app = make_app(access, hub, storage=storage, loopback_only=args.address in LOOPBACK_HOSTS)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, args.address, args.port)
    try:
        await site.start()
    except OSError as err:
        await runner.cleanup()
        raise UsageError(f"cannot listen on {args.address}:{args.port}: {err.strerror or err} (pick another --port)") from None
    host = "127.0.0.1" if args.address in ("0.0.0.0", "::") else args.address
    where = "every namespace" if args.all_namespaces else f"namespace {cluster.namespace}"
    print(f"kflow ui: http://{host}:{args.port}/  ({where} of {cluster.server}; Ctrl-C stops)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


class BackgroundServer:
    """The UI app served from a thread of its own (its own event loop): `kflow run --ui`, tests."""

    def __init__(self, app, address: str = "127.0.0.1", port: int = 0):
        import threading

        self.app, self.address = app, address
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop = self._runner = None
        self.port = port
        threading.Thread(target=self._serve, name="kflow-ui-server", daemon=True).start()
        self._ready.wait(30)
        if self._error is not None:
            from kflow.client.inputs import UsageError

            raise UsageError(f"cannot listen on {address}:{port}: {getattr(self._error, 'strerror', None) or self._error} (pick another port)")

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def _serve(self) -> None:
        from aiohttp import web

        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        try:
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, self.address, self.port)
            loop.run_until_complete(site.start())
        except OSError as err:
            self._error = err
            self._ready.set()
            return
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        loop.run_forever()

    def stop(self) -> None:
        if self._loop is not None and self._error is None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
