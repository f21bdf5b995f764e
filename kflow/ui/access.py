"""Whose Kubernetes credentials a UI request uses, and which namespaces it may name.

Two modes:
- `kubeconfig` (the default; `kflow ui` on a laptop, or the chart's ServiceAccount): every
  request uses the UI process' own credentials.
- `token`: each user signs in with their own Kubernetes bearer token (a ServiceAccount token,
  an OIDC id token...); their requests go to the API server with it, so their RBAC decides
  what they see and do. The token stays in server memory, keyed by a random session cookie.
  The watch that feeds live updates uses the UI's own credentials; a session gets its events
  for a namespace only once its token was allowed to list Executions there.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from kflow.client.kube import Cluster

COOKIE = "kflow_session"
SESSION_SECONDS = 8 * 3600
CHECK_SECONDS = 30  # how long a "may list executions in NS" answer is trusted


class SignInRequired(Exception):
    """Token mode and no (or an expired) session: the browser shows the sign-in form."""


class NamespaceRefused(Exception):
    """A namespace this UI does not serve (started with -n NS, without -A)."""


@dataclass
class Session:
    api: Any  # kubernetes.client.ApiClient carrying the user's token
    user: str
    created: float = field(default_factory=time.monotonic)
    allowed: dict[str, float] = field(default_factory=dict)  # namespace -> when it was checked


class Access:
    def __init__(self, base: Cluster, all_namespaces: bool, mode: str = "kubeconfig", allow_actions: bool = True):
        self.base = base
        self.all_namespaces = all_namespaces
        self.mode = mode
        self.allow_actions = allow_actions
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()

    @property
    def namespace(self) -> str:
        return self.base.namespace

    def check_namespace(self, namespace: str) -> str:
        if not self.all_namespaces and namespace != self.base.namespace:
            raise NamespaceRefused(f"this UI serves namespace {self.base.namespace!r} (start it with -A for every namespace)")
        return namespace

    # -- sessions -----------------------------------------------------------------------------------
    def session(self, session_id: str | None) -> Session | None:
        if self.mode != "token":
            return None
        with self.lock:
            found = self.sessions.get(session_id or "")
            if found is None or time.monotonic() - found.created > SESSION_SECONDS:
                self.sessions.pop(session_id or "", None)
                raise SignInRequired("sign in with a Kubernetes token")
            return found

    def cluster(self, session_id: str | None, namespace: str | None = None) -> Cluster:
        """The client a request uses, bound to `namespace` (checked against what this UI serves)."""
        namespace = self.check_namespace(namespace) if namespace else self.base.namespace
        session = self.session(session_id)
        api = session.api if session else self.base.api
        return Cluster(api, namespace, self.base.server)

    def sign_in(self, token: str) -> tuple[str, str]:
        """(session id, user name) for a token the API server accepts; ClusterError otherwise."""
        from kubernetes import client

        from kflow.client.kube import ClusterError, call

        token = token.strip()
        if not token or any(c.isspace() for c in token):
            raise ClusterError("a Kubernetes bearer token is one word: paste it without spaces")
        api = token_client(self.base.api, token)
        review = call(client.AuthenticationV1Api(api).create_self_subject_review, {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                      what="signing in")
        user = review.status.user_info if getattr(review, "status", None) else None
        name = getattr(user, "username", None) or "unknown user"
        session_id = secrets.token_urlsafe(32)
        with self.lock:
            self.sessions[session_id] = Session(api, name)
        return session_id, name

    def sign_out(self, session_id: str | None) -> None:
        with self.lock:
            session = self.sessions.pop(session_id or "", None)
        if session is not None:
            session.api.close()

    def may_list(self, session_id: str | None, namespace: str) -> None:
        """Token mode: raise unless the session's token may list Executions in `namespace`."""
        session = self.session(session_id)
        if session is None:
            return
        checked = session.allowed.get(namespace)
        if checked is not None and time.monotonic() - checked < CHECK_SECONDS:
            return
        cluster = Cluster(session.api, namespace, self.base.server)
        cluster.list("executions", limit=1)  # raises ClusterError (access denied) when RBAC says no
        session.allowed[namespace] = time.monotonic()


    def namespaces(self, session_id: str | None) -> list[str] | None:
        """The namespaces to offer in the picker: this UI's one without -A; else those the request's
        credentials may list (sorted); None when they may not list namespaces (the user types one)."""
        from kflow.client.kube import ClusterError, call

        if not self.all_namespaces:
            return [self.namespace]
        session = self.session(session_id)
        api = session.api if session else self.base.api
        cluster = Cluster(api, self.namespace, self.base.server)
        try:
            found = call(cluster.core.list_namespace, what="namespaces")
        except ClusterError as err:
            if "access denied" in str(err):
                return None
            raise
        return sorted(item.metadata.name for item in found.items)


def token_client(base_api, token: str):
    """An ApiClient for the same API server (address, CA) as `base_api`, authenticated by `token` only."""
    from kubernetes import client

    from kflow.client.kube import limit_retries

    base = base_api.configuration
    config = client.Configuration()
    config.host = base.host
    config.ssl_ca_cert = base.ssl_ca_cert
    config.verify_ssl = base.verify_ssl
    config.tls_server_name = getattr(base, "tls_server_name", None)
    config.api_key = {"authorization": f"Bearer {token}"}  # as the client's kubeconfig loader sets it (a prefix is not applied)
    api = client.ApiClient(config)
    limit_retries(api)
    return api
