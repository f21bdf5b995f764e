"""A real single-node Kubernetes for kflow's tests, built from source and run on this machine.

Commands (also reachable as ``tests/cluster/{up,down,status,load-image}``)::

    python -m tests.cluster.harness up          # build what is missing, start what is not running
    python -m tests.cluster.harness down        # stop everything, unmount, remove bridge/iptables
    python -m tests.cluster.harness status
    python -m tests.cluster.harness load-image  # rebuild the project image, import it

Layout
------
* ``~/.cache/kflow-cluster`` (``$KFLOW_CLUSTER_CACHE``): pinned binaries (see build.py),
  buildah's image storage, containerd's root (content store + snapshots, so imported images
  survive ``down``).  Nothing here is removed by ``down``.
* ``/var/lib/kflow-cluster`` (``$KFLOW_CLUSTER_RUN``): the running cluster: certificates,
  kubeconfigs, etcd data, containerd state, kubelet root dir, CNI config and IPAM, pid files
  and logs (``logs/<component>.log``).  ``down`` removes it (the logs are kept in
  ``~/.cache/kflow-cluster/last-logs``).

Network (decided once, here)
----------------------------
The harness creates the Linux bridge ``kflow0`` with address ``10.244.0.1/24`` before
anything starts.  Pods get addresses from ``10.244.0.0/24`` on that bridge (CNI ``bridge`` +
``host-local``, no masquerading, and no default route: a pod's only route beyond its subnet
is the service range ``10.96.0.0/16`` via ``10.244.0.1``; a ``KFLOW-FORWARD`` iptables chain
also drops anything forwarded off the bridge).  The API server listens on
``https://10.244.0.1:6443`` only: that address is local to this machine and reachable both
from the host (tests, kubelet, controllers) and from pods.  kube-proxy (iptables mode) makes
the ``kubernetes`` Service ``10.96.0.1:443`` lead there, so in-cluster clients work with
their defaults (``KUBERNETES_SERVICE_HOST``/``PORT`` + the mounted service-account token).
etcd, controller-manager, scheduler and the kubelet's healthz listen on 127.0.0.1; the
kubelet's API (10250, client-certificate authenticated) listens on 10.244.0.1, the node's
InternalIP, because the kubelet refuses a loopback node IP.  There is no cluster DNS: use
Service IPs or the ``KUBERNETES_SERVICE_*`` variables.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    __package__ = "tests.cluster"

from . import build, certs, images  # noqa: E402
from .build import CACHE, log  # noqa: E402
from .images import BASE_IMAGE, PAUSE_IMAGE, PROJECT_IMAGE, TEST_IMAGE  # noqa: E402

RUN = Path(os.environ.get("KFLOW_CLUSTER_RUN", "/var/lib/kflow-cluster"))
PKI = RUN / "pki"
LOGS = RUN / "logs"
PIDS = RUN / "pids"
KUBECONFIG = RUN / "admin.kubeconfig"
CONTAINERD_ROOT = CACHE / "containerd-root"
CONTAINERD_STATE = RUN / "containerd"
CONTAINERD_SOCK = CONTAINERD_STATE / "containerd.sock"
KUBELET_ROOT = RUN / "kubelet"
POD_LOGS = RUN / "pod-logs"
CNI_CONF_DIR = RUN / "cni" / "net.d"
CNI_IPAM_DIR = RUN / "cni" / "ipam"
CNI_BIN_DIR = "/usr/lib/cni"
HOST_STATE = RUN / "host-state.json"
IMAGE_STAMPS = CONTAINERD_ROOT.parent / "containerd-image-stamps"

BRIDGE = "kflow0"
BRIDGE_IP = "10.244.0.1"
# Set, never derived: a bridge whose MAC was not set takes the lowest MAC of its ports, so it
# changed whenever a pod's veth came or went, and every pod that had the old one in its ARP
# cache lost the node (the API server, S3 on the bridge) for up to 45 s: an HA leader missed
# its renewals, a runner could not store its log. Locally administered, unicast.
BRIDGE_MAC = "02:6b:66:6c:6f:77"
POD_SUBNET = "10.244.0.0/24"
CLUSTER_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"
API_SERVICE_IP = "10.96.0.1"
API_PORT = 6443
API_SERVER = f"https://{BRIDGE_IP}:{API_PORT}"
IN_CLUSTER_API = f"https://{API_SERVICE_IP}:443"
ETCD_PORT, ETCD_PEER_PORT = 12379, 12380
NODE_NAME = "kflow-node"
CGROUP_ROOT = "kflow-cluster"
FW_CHAIN = "KFLOW-FORWARD"

# sysctls that kubelet / kube-proxy may change; saved at the first `up`, restored by `down`.
HOST_SYSCTLS = (
    "vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes", "net/ipv4/ip_forward",
    "net/ipv4/conf/all/route_localnet", "net/bridge/bridge-nf-call-iptables",
)
# directories outside RUN that containerd, the CNI library or the kubelet may create.
HOST_DIRS = ("/run/containerd", "/var/lib/cni", "/var/log/containers", "/var/log/pods", "/var/run/netns")

COMPONENTS = ("etcd", "kube-apiserver", "containerd", "kube-controller-manager",
              "kube-scheduler", "kubelet", "kube-proxy")


# --------------------------------------------------------------------------- helpers

def sh(*cmd: str, check: bool = True, quiet: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), check=check, text=True, stdin=subprocess.DEVNULL,
                          capture_output=quiet)


def _read(path: Path | str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _binary(name: str) -> str:
    if name == "etcd":
        return str(build.etcd_bin())
    if name == "containerd":
        return shutil.which("containerd") or "/usr/bin/containerd"
    return str(build.k8s_bin(name))


def _pid(name: str) -> int | None:
    try:
        pid = int((PIDS / f"{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    stat = _read(f"/proc/{pid}/stat")
    if not stat or stat.rsplit(")", 1)[-1].split()[0] == "Z":
        return None
    argv0 = _read(f"/proc/{pid}/cmdline").split("\0", 1)[0]
    # An empty cmdline: a process in the middle of execve (Popen can return before the new
    # image has set up its arguments, when it uses vfork).
    return pid if argv0 in (_binary(name), "") else None


def running(name: str) -> bool:
    return _pid(name) is not None


def _start(name: str, args: list[str], env: dict[str, str] | None = None) -> None:
    if running(name):
        return
    LOGS.mkdir(parents=True, exist_ok=True)
    PIDS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / f"{name}.log", "ab") as out:
        out.write(f"\n===== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {name}\n".encode())
        out.flush()
        proc = subprocess.Popen([_binary(name), *args], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
                                cwd=str(RUN), env=env)
    (PIDS / f"{name}.pid").write_text(f"{proc.pid}\n")
    log(f"started {name} (pid {proc.pid})")


def _stop(name: str, timeout: float = 15.0) -> None:
    pid = _pid(name)
    if pid is None:
        (PIDS / f"{name}.pid").unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid(name) is not None:
        time.sleep(0.1)
    if _pid(name) is not None:
        os.kill(pid, signal.SIGKILL)
        while _pid(name) is not None:
            time.sleep(0.1)
    (PIDS / f"{name}.pid").unlink(missing_ok=True)
    log(f"stopped {name}")


def _tail(name: str, lines: int = 30) -> str:
    return "\n".join(_read(LOGS / f"{name}.log").splitlines()[-lines:])


def _wait(what: str, check, timeout: float, components: tuple[str, ...] = ()) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - keep polling until the deadline
            pass
        for c in components:
            if not running(c):
                raise RuntimeError(f"{c} exited while waiting for {what}; last lines of "
                                   f"{LOGS / (c + '.log')}:\n{_tail(c)}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}; logs in {LOGS}")
        time.sleep(0.3)


_lock_depth = 0
_lock_file = None


@contextlib.contextmanager
def harness_lock():
    """One `up`/`down`/`load-image` at a time on this machine (pytest sessions may overlap)."""
    global _lock_depth, _lock_file
    if _lock_depth == 0:
        CACHE.mkdir(parents=True, exist_ok=True)
        _lock_file = open(CACHE / "harness.lock", "w")
        fcntl.flock(_lock_file, fcntl.LOCK_EX)
    _lock_depth += 1
    try:
        yield
    finally:
        _lock_depth -= 1
        if _lock_depth == 0:
            _lock_file.close()
            _lock_file = None


# --------------------------------------------------------------------------- API access

def _ssl_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(PKI / "ca.crt"))
    ctx.load_cert_chain(str(PKI / "admin.crt"), str(PKI / "admin.key"))
    return ctx


def api(method: str, path: str, body: dict | None = None, timeout: float = 5.0) -> tuple[int, dict]:
    """A call to the API server as cluster-admin; returns (status, decoded JSON body)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(API_SERVER + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, context=_ssl_context(), timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    try:
        return status, json.loads(raw or b"{}")
    except ValueError:
        return status, {"raw": raw.decode(errors="replace")}


def _apiserver_ready() -> bool:
    req = urllib.request.Request(API_SERVER + "/readyz")
    with urllib.request.urlopen(req, context=_ssl_context(), timeout=3) as resp:
        return resp.read().strip() == b"ok"


def node_ready() -> bool:
    status, node = api("GET", f"/api/v1/nodes/{NODE_NAME}")
    if status != 200:
        return False
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", []))


def default_sa_exists(namespace: str = "default") -> bool:
    return api("GET", f"/api/v1/namespaces/{namespace}/serviceaccounts/default")[0] == 200


# --------------------------------------------------------------------------- configuration

def _write(path: Path, text: str) -> Path:
    """Write a config file only when its content changes (kube-proxy exits when its
    configuration file is written to, even with the same content)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if _read(path) != text:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return path


def _save_host_state() -> None:
    if HOST_STATE.exists():
        return
    state = {
        "sysctls": {k: _read(f"/proc/sys/{k}").strip() for k in HOST_SYSCTLS if Path(f"/proc/sys/{k}").exists()},
        "dirs_existed": {d: Path(d).exists() for d in HOST_DIRS},
    }
    _write(HOST_STATE, json.dumps(state, indent=1))


def _make_pki() -> None:
    sans = ("DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local", "DNS:localhost",
            f"IP:{BRIDGE_IP}", f"IP:{API_SERVICE_IP}", "IP:127.0.0.1")
    ca, _ = certs.ensure_ca(PKI)
    certs.ensure_cert(PKI, "apiserver", "kube-apiserver", server_sans=sans, client=False)
    certs.ensure_cert(PKI, "apiserver-kubelet-client", "kube-apiserver-kubelet-client", ("system:masters",))
    certs.ensure_cert(PKI, "kubelet-serving", f"system:node:{NODE_NAME}", ("system:nodes",),
                      server_sans=(f"IP:{BRIDGE_IP}", "IP:127.0.0.1", f"DNS:{NODE_NAME}", "DNS:localhost"),
                      client=False)
    certs.ensure_cert(PKI, "front-proxy-client", "front-proxy-client", ca="front-proxy-ca")
    certs.ensure_sa_keypair(PKI)
    users = {
        "admin": ("kflow-admin", ("system:masters",)),
        "controller-manager": ("system:kube-controller-manager", ()),
        "scheduler": ("system:kube-scheduler", ()),
        "kubelet": (f"system:node:{NODE_NAME}", ("system:nodes",)),
        "kube-proxy": ("system:kube-proxy", ()),
    }
    for name, (cn, orgs) in users.items():
        crt, key = certs.ensure_cert(PKI, name, cn, orgs)
        certs.kubeconfig(RUN / f"{name}.kubeconfig", API_SERVER, ca, crt, key, cn)


def _containerd_config() -> Path:
    return _write(CONTAINERD_STATE / "config.toml", f"""version = 2
root = "{CONTAINERD_ROOT}"
state = "{CONTAINERD_STATE / 'state'}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "{CONTAINERD_SOCK}"

[ttrpc]
  address = "{CONTAINERD_STATE / 'containerd.sock.ttrpc'}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{CONTAINERD_STATE / 'opt'}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # This machine's bounding set lacks CAP_SYS_RESOURCE, so no process may lower an
  # oom_score_adj (runc fails on the sandbox's -998): clamp to containerd's own value.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{CNI_CONF_DIR}"
    max_conf_num = 1
""")


def _cni_config() -> Path:
    conf = {
        "cniVersion": "0.4.0",
        "name": "kflow",
        "plugins": [{
            "type": "bridge",
            "bridge": BRIDGE,
            "isGateway": False,
            "isDefaultGateway": False,
            "ipMasq": False,
            "hairpinMode": True,
            "ipam": {
                "type": "host-local",
                "dataDir": str(CNI_IPAM_DIR),
                "ranges": [[{"subnet": POD_SUBNET, "gateway": BRIDGE_IP}]],
                "routes": [{"dst": SERVICE_CIDR, "gw": BRIDGE_IP}],
            },
        }],
    }
    return _write(CNI_CONF_DIR / "10-kflow.conflist", json.dumps(conf, indent=1))


def _kubelet_config() -> Path:
    return _write(RUN / "kubelet-config.yaml", f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {BRIDGE_IP}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: {PKI / 'kubelet-serving.crt'}
tlsPrivateKeyFile: {PKI / 'kubelet-serving.key'}
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: true}}
  x509: {{clientCAFile: {PKI / 'ca.crt'}}}
authorization:
  mode: Webhook
cgroupDriver: cgroupfs
cgroupRoot: /{CGROUP_ROOT}
cgroupsPerQOS: true
containerRuntimeEndpoint: unix://{CONTAINERD_SOCK}
podLogsDir: {POD_LOGS}
resolvConf: ""
failSwapOn: false
protectKernelDefaults: false
serializeImagePulls: false
registerNode: true
maxPods: 110
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
shutdownGracePeriod: 0s
""")


def _kube_proxy_config() -> Path:
    return _write(RUN / "kube-proxy-config.yaml", f"""apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: {RUN / 'kube-proxy.kubeconfig'}
hostnameOverride: {NODE_NAME}
mode: iptables
clusterCIDR: {CLUSTER_CIDR}
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["{BRIDGE_IP}/32"]
iptables:
  localhostNodePorts: false
  masqueradeAll: false
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
""")


# --------------------------------------------------------------------------- host setup

def _cgroup_hierarchies() -> list[Path]:
    out = []
    for line in _read("/proc/self/mounts").splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[2] in ("cgroup", "cgroup2") and parts[1].startswith("/sys/fs/cgroup"):
            out.append(Path(parts[1]))
    return out


def _setup_cgroups() -> None:
    for h in _cgroup_hierarchies():
        d = h / CGROUP_ROOT
        d.mkdir(exist_ok=True)
        if h.name == "cpuset":
            for f in ("cpuset.cpus", "cpuset.mems"):
                if not _read(d / f).strip():
                    (d / f).write_text(_read(h / f))


def _iptables(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    return sh("iptables", "-w", "5", *args, check=check)


def setup_network() -> None:
    if sh("ip", "link", "show", BRIDGE, check=False).returncode != 0:
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        log(f"created bridge {BRIDGE}")
    sh("ip", "link", "set", BRIDGE, "address", BRIDGE_MAC)
    addrs = sh("ip", "-4", "-o", "addr", "show", "dev", BRIDGE).stdout
    if f"{BRIDGE_IP}/24" not in addrs:
        sh("ip", "addr", "add", f"{BRIDGE_IP}/24", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")
    # Nothing is forwarded between the pod bridge and any other interface.
    if _iptables("-S", FW_CHAIN).returncode != 0:
        _iptables("-N", FW_CHAIN, check=True)
        _iptables("-A", FW_CHAIN, "-i", BRIDGE, "!", "-o", BRIDGE, "-j", "DROP", check=True)
        _iptables("-A", FW_CHAIN, "-o", BRIDGE, "!", "-i", BRIDGE, "-j", "DROP", check=True)
    if _iptables("-C", "FORWARD", "-j", FW_CHAIN).returncode != 0:
        _iptables("-I", "FORWARD", "1", "-j", FW_CHAIN, check=True)


# --------------------------------------------------------------------------- up

def _start_control_plane() -> None:
    _start("etcd", [
        "--name", "kflow", "--data-dir", str(RUN / "etcd"),
        "--listen-client-urls", f"http://127.0.0.1:{ETCD_PORT}",
        "--advertise-client-urls", f"http://127.0.0.1:{ETCD_PORT}",
        "--listen-peer-urls", f"http://127.0.0.1:{ETCD_PEER_PORT}",
        "--initial-advertise-peer-urls", f"http://127.0.0.1:{ETCD_PEER_PORT}",
        "--initial-cluster", f"kflow=http://127.0.0.1:{ETCD_PEER_PORT}",
        "--unsafe-no-fsync", "--log-level", "warn",
    ])
    _start("kube-apiserver", [
        f"--etcd-servers=http://127.0.0.1:{ETCD_PORT}",
        f"--bind-address={BRIDGE_IP}", f"--advertise-address={BRIDGE_IP}", f"--secure-port={API_PORT}",
        f"--tls-cert-file={PKI / 'apiserver.crt'}", f"--tls-private-key-file={PKI / 'apiserver.key'}",
        f"--client-ca-file={PKI / 'ca.crt'}",
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        "--allow-privileged=true",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={PKI / 'sa.pub'}",
        f"--service-account-signing-key-file={PKI / 'sa.key'}",
        f"--kubelet-client-certificate={PKI / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={PKI / 'apiserver-kubelet-client.key'}",
        f"--kubelet-certificate-authority={PKI / 'ca.crt'}",
        "--kubelet-preferred-address-types=InternalIP",
        f"--requestheader-client-ca-file={PKI / 'front-proxy-ca.crt'}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={PKI / 'front-proxy-client.crt'}",
        f"--proxy-client-key-file={PKI / 'front-proxy-client.key'}",
        "--profiling=false", "--v=1",
    ])


def _start_controllers() -> None:
    _start("kube-controller-manager", [
        f"--kubeconfig={RUN / 'controller-manager.kubeconfig'}",
        f"--authentication-kubeconfig={RUN / 'controller-manager.kubeconfig'}",
        f"--authorization-kubeconfig={RUN / 'controller-manager.kubeconfig'}",
        "--bind-address=127.0.0.1", "--leader-elect=false",
        "--controllers=*", "--use-service-account-credentials=true",
        f"--service-account-private-key-file={PKI / 'sa.key'}",
        f"--root-ca-file={PKI / 'ca.crt'}",
        f"--cluster-signing-cert-file={PKI / 'ca.crt'}", f"--cluster-signing-key-file={PKI / 'ca.key'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--allocate-node-cidrs=false",
        "--profiling=false", "--v=1",
    ])
    _start("kube-scheduler", [
        f"--kubeconfig={RUN / 'scheduler.kubeconfig'}",
        f"--authentication-kubeconfig={RUN / 'scheduler.kubeconfig'}",
        f"--authorization-kubeconfig={RUN / 'scheduler.kubeconfig'}",
        "--bind-address=127.0.0.1", "--leader-elect=false", "--profiling=false", "--v=1",
    ])


def _start_node() -> None:
    _start("kubelet", [
        f"--config={RUN / 'kubelet-config.yaml'}",
        f"--kubeconfig={RUN / 'kubelet.kubeconfig'}",
        f"--root-dir={KUBELET_ROOT}", f"--cert-dir={KUBELET_ROOT / 'pki'}",
        f"--hostname-override={NODE_NAME}", f"--node-ip={BRIDGE_IP}", "--v=1",
    ])
    _start("kube-proxy", [f"--config={RUN / 'kube-proxy-config.yaml'}", "--v=1"])


def _containerd_ready() -> bool:
    return CONTAINERD_SOCK.exists() and images.ctr(CONTAINERD_SOCK, "version", check=False).returncode == 0


def ensure_built() -> None:
    build.build_all()
    images.ensure_pause_image()
    images.ensure_test_image()


def ensure_images(project: bool = True) -> None:
    """Import the pause and test images (and the project image if missing) into containerd."""
    images.import_image(CONTAINERD_SOCK, PAUSE_IMAGE, IMAGE_STAMPS)
    images.import_image(CONTAINERD_SOCK, TEST_IMAGE, IMAGE_STAMPS)
    if project and PROJECT_IMAGE not in images.containerd_images(CONTAINERD_SOCK):
        images.build_project_image()
        images.import_image(CONTAINERD_SOCK, PROJECT_IMAGE, IMAGE_STAMPS)


def _up_locked(project_image: bool = True) -> Path:
    """Bring the cluster up (idempotent); returns the admin kubeconfig path."""
    if os.geteuid() != 0:
        raise PermissionError("the test cluster needs root (containerd, kubelet, bridge, iptables)")
    t0 = time.monotonic()
    ensure_built()
    if PIDS.exists() and any(PIDS.glob("*.pid")) and not any(running(c) for c in COMPONENTS):
        # Every process of an earlier cluster is gone (reboot, killed session): clear what
        # it left (mounts, containers, bridge) and start afresh; that takes seconds.
        log("found the state of a stopped cluster; cleaning it up first")
        down()
    for d in (RUN, LOGS, PIDS, CONTAINERD_ROOT, KUBELET_ROOT, POD_LOGS, CNI_IPAM_DIR):
        d.mkdir(parents=True, exist_ok=True)
    _save_host_state()
    _make_pki()
    _containerd_config()
    _cni_config()
    _kubelet_config()
    _kube_proxy_config()
    setup_network()
    _setup_cgroups()
    t1 = time.monotonic()
    _start_control_plane()
    _start("containerd", ["--config", str(CONTAINERD_STATE / "config.toml"), "--log-level", "warn"])
    _wait("containerd", _containerd_ready, 30, ("containerd",))
    ensure_images(project=False)
    _wait("the API server", _apiserver_ready, 60, ("etcd", "kube-apiserver"))
    _start_controllers()
    _start_node()
    _wait(f"node {NODE_NAME} Ready", node_ready, 90, ("kubelet", "containerd", "kube-apiserver"))
    _wait("the default service account", default_sa_exists, 60, ("kube-controller-manager",))
    log(f"cluster Ready in {time.monotonic() - t1:.1f} s (total {time.monotonic() - t0:.1f} s)")
    if project_image:
        ensure_images(project=True)
    return KUBECONFIG


# --------------------------------------------------------------------------- down

def _mounts_under(*prefixes: str) -> list[str]:
    points = []
    for line in _read("/proc/self/mountinfo").splitlines():
        mp = line.split()[4].replace("\\040", " ")
        if any(mp == p or mp.startswith(p.rstrip("/") + "/") for p in prefixes):
            points.append(mp)
    return sorted(set(points), key=len, reverse=True)


def _cgroup_pids() -> set[int]:
    pids: set[int] = set()
    for h in _cgroup_hierarchies():
        root = h / CGROUP_ROOT
        if root.exists():
            for procs in root.rglob("cgroup.procs"):
                pids.update(int(p) for p in _read(procs).split())
    return pids


def _delete_pods_via_api() -> None:
    """Let the kubelet stop every pod itself (CNI DEL, netns removal), if it still can."""
    if not (running("kube-apiserver") and running("kubelet")):
        return
    try:
        status, pods = api("GET", "/api/v1/pods")
        if status != 200 or not pods.get("items"):
            return
        for p in pods["items"]:
            md = p["metadata"]
            api("DELETE", f"/api/v1/namespaces/{md['namespace']}/pods/{md['name']}",
                {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0})
        _wait("pods to stop", lambda: not _running_tasks(), 30)
    except Exception as e:  # noqa: BLE001 - the forced cleanup below handles what is left
        log(f"graceful pod cleanup incomplete: {e}")


def _running_tasks() -> list[str]:
    res = images.ctr(CONTAINERD_SOCK, "tasks", "ls", check=False)
    return [line.split()[0] for line in res.stdout.splitlines()[1:] if "RUNNING" in line]


def _remove_containers() -> list[str]:
    """Kill and remove every container of our containerd; returns the netns paths they used."""
    netns: list[str] = []
    res = images.ctr(CONTAINERD_SOCK, "containers", "ls", "-q", check=False)
    for cid in res.stdout.split():
        info = images.ctr(CONTAINERD_SOCK, "containers", "info", cid, check=False).stdout
        try:
            spec = json.loads(info).get("Spec", {})
            for ns in spec.get("linux", {}).get("namespaces", []):
                if ns.get("type") == "network" and ns.get("path", "").startswith("/var/run/netns/cni-"):
                    netns.append(ns["path"])
        except ValueError:
            pass
        images.ctr(CONTAINERD_SOCK, "tasks", "kill", "-a", "-s", "SIGKILL", cid, check=False)
    deadline = time.monotonic() + 10
    while _running_tasks() and time.monotonic() < deadline:
        time.sleep(0.2)
    for cid in res.stdout.split():
        images.ctr(CONTAINERD_SOCK, "tasks", "delete", "-f", cid, check=False)
        images.ctr(CONTAINERD_SOCK, "containers", "delete", cid, check=False)
    return netns


def _our_shims() -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            argv = _read(p / "cmdline").split("\0")
            if argv and "containerd-shim" in argv[0] and str(CONTAINERD_SOCK) in argv:
                pids.append(int(p.name))
    return pids


def _cleanup_iptables() -> None:
    if build.k8s_bin("kube-proxy").exists():
        sh(str(build.k8s_bin("kube-proxy")), "--cleanup", check=False)
    for binary in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            rules = sh(binary, "-w", "5", "-t", table, "-S", check=False).stdout.splitlines()
            ours = {r.split()[1] for r in rules if r.startswith("-N ") and
                    (r.split()[1].startswith("KUBE-") or r.split()[1] == FW_CHAIN)}
            if not ours:
                continue
            for r in rules:  # rules in built-in chains that jump to our chains
                parts = r.split()
                if parts[0] == "-A" and parts[1] not in ours and any(c in parts for c in ours):
                    sh(binary, "-w", "5", "-t", table, "-D", *parts[1:], check=False)
            for c in ours:
                sh(binary, "-w", "5", "-t", table, "-F", c, check=False)
            for c in ours:
                sh(binary, "-w", "5", "-t", table, "-X", c, check=False)


def _down_locked() -> None:
    state = json.loads(_read(HOST_STATE) or "{}")
    for name in ("kube-controller-manager", "kube-scheduler"):  # no pod is created or placed now
        _stop(name)
    _delete_pods_via_api()
    for name in ("kube-proxy", "kubelet"):
        _stop(name)
    netns: list[str] = []
    if not running("containerd") and (CONTAINERD_STATE / "config.toml").exists():
        # containerd's root (in the cache) still lists the containers of a cluster whose
        # processes died: start containerd briefly so they can be removed properly.
        _start("containerd", ["--config", str(CONTAINERD_STATE / "config.toml"), "--log-level", "warn"])
        try:
            _wait("containerd", _containerd_ready, 30, ("containerd",))
        except Exception as e:  # noqa: BLE001
            log(f"containerd did not start for cleanup: {e}")
    if running("containerd"):
        netns = _remove_containers()
    for pid in _cgroup_pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _stop("containerd")
    for pid in _our_shims():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _stop("kube-apiserver")
    _stop("etcd")
    # mounts: kubelet volumes, containerd rootfs/shm, pod network namespaces
    # containerd's CRI names the pod network namespaces it creates cni-<uuid>; ours is the
    # only CRI runtime on this machine, so any such mount left behind is ours.
    netns += [m for m in _mounts_under("/run/netns", "/var/run/netns") if Path(m).name.startswith("cni-")]
    for mp in _mounts_under(str(RUN), str(CONTAINERD_ROOT)) + sorted(set(netns)):
        if sh("umount", mp, check=False).returncode != 0:
            sh("umount", "-l", mp, check=False)
    for n in set(netns):
        Path(n).unlink(missing_ok=True)
    # cgroups
    for h in _cgroup_hierarchies():
        root = h / CGROUP_ROOT
        if root.exists():
            for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                try:
                    d.rmdir()
                except OSError:
                    pass
            try:
                root.rmdir()
            except OSError as e:
                log(f"could not remove cgroup {root}: {e}")
    # network
    _cleanup_iptables()
    for line in sh("ip", "-o", "link", "show", "master", BRIDGE, check=False).stdout.splitlines():
        dev = line.split(":")[1].strip().split("@")[0]
        sh("ip", "link", "delete", dev, check=False)
    if sh("ip", "link", "show", BRIDGE, check=False).returncode == 0:
        sh("ip", "link", "delete", BRIDGE, check=False)
        log(f"deleted bridge {BRIDGE}")
    # host sysctls and directories that only we created
    for k, v in state.get("sysctls", {}).items():
        if _read(f"/proc/sys/{k}").strip() != v:
            try:
                Path(f"/proc/sys/{k}").write_text(v)
            except OSError as e:
                log(f"could not restore sysctl {k}={v}: {e}")
    cni_results = Path("/var/lib/cni/results")
    for f in cni_results.glob("kflow-*") if cni_results.exists() else []:
        f.unlink(missing_ok=True)
    for f in Path("/var/log/containers").glob("*.log") if Path("/var/log/containers").exists() else []:
        if f.is_symlink() and str(os.readlink(f)).startswith(str(POD_LOGS)):
            f.unlink()
    for d, existed in state.get("dirs_existed", {}).items():
        real = os.path.realpath(d)  # /var/run is a link to /run
        if not existed and Path(real).exists():
            if real == "/run/netns" and os.listdir(real):
                continue  # someone else's network namespaces: leave the directory
            for mp in _mounts_under(real):  # e.g. the shared self-bind of /run/netns
                if sh("umount", mp, check=False).returncode != 0:
                    sh("umount", "-l", mp, check=False)
            shutil.rmtree(real, ignore_errors=True)
    # CRI's per-sandbox/container directories in the persistent root are stale now
    for sub in ("io.containerd.grpc.v1.cri/sandboxes", "io.containerd.grpc.v1.cri/containers"):
        shutil.rmtree(CONTAINERD_ROOT / sub, ignore_errors=True)
    if RUN.exists():
        if LOGS.exists():
            last = CACHE / "last-logs"
            shutil.rmtree(last, ignore_errors=True)
            shutil.copytree(LOGS, last)
        leftover = _mounts_under(str(RUN))
        if leftover:
            log(f"still mounted, not removing {RUN}: {leftover}")
        else:
            shutil.rmtree(RUN)
    log("cluster is down")


# --------------------------------------------------------------------------- status, load-image

def status() -> int:
    ok = True
    for name in COMPONENTS:
        pid = _pid(name)
        ok &= pid is not None
        print(f"{name:26s} {'running pid ' + str(pid) if pid else 'not running'}")
    if running("kube-apiserver"):
        try:
            print(f"{'node ' + NODE_NAME:26s} {'Ready' if node_ready() else 'NOT Ready'}")
            code, pods = api("GET", "/api/v1/pods")
            print(f"{'pods':26s} {len(pods.get('items', []))}")
        except Exception as e:  # noqa: BLE001
            ok = False
            print(f"API server: {e}")
    print(f"{'api server':26s} {API_SERVER} (in pods: {IN_CLUSTER_API})")
    print(f"{'kubeconfig':26s} {KUBECONFIG}")
    print(f"{'kubectl':26s} {build.k8s_bin('kubectl')} --kubeconfig {KUBECONFIG}")
    print(f"{'helm':26s} {build.helm_bin()}")
    print(f"{'images':26s} {PROJECT_IMAGE} {TEST_IMAGE} {PAUSE_IMAGE}")
    print(f"{'logs':26s} {LOGS}")
    return 0 if ok else 1


def _load_image_locked() -> str:
    """Rebuild the project image from the Dockerfile and import it into containerd."""
    if not running("containerd"):
        up(project_image=False)
    t = time.monotonic()
    images.build_project_image()
    images.import_image(CONTAINERD_SOCK, PROJECT_IMAGE, IMAGE_STAMPS)
    log(f"{PROJECT_IMAGE} ready in containerd in {time.monotonic() - t:.1f} s")
    return PROJECT_IMAGE


def up(project_image: bool = True) -> Path:
    """Bring the cluster up (idempotent); returns the admin kubeconfig path."""
    with harness_lock():
        return _up_locked(project_image)


def down() -> None:
    """Stop everything `up` started and remove what it made (mounts, bridge, chains, RUN)."""
    with harness_lock():
        _down_locked()


def load_image() -> str:
    """Rebuild the project image from the Dockerfile and import it into containerd."""
    with harness_lock():
        return _load_image_locked()


# --------------------------------------------------------------------------- pytest side

@dataclass
class Cluster:
    """What the tests get from the session fixture."""
    kubeconfig: Path = KUBECONFIG
    api_server: str = API_SERVER
    in_cluster_api: str = IN_CLUSTER_API
    node_name: str = NODE_NAME
    project_image: str = PROJECT_IMAGE
    test_image: str = TEST_IMAGE
    pause_image: str = PAUSE_IMAGE
    base_image: str = BASE_IMAGE
    helm_bin: Path = field(default_factory=build.helm_bin)
    kubectl_bin: Path = field(default_factory=lambda: build.k8s_bin("kubectl"))
    ca_cert: Path = PKI / "ca.crt"

    def api_client(self):
        """A fresh ``kubernetes.client.ApiClient`` as cluster-admin."""
        from kubernetes import config as kconfig
        return kconfig.new_client_from_config(config_file=str(self.kubeconfig))

    def helm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ, KUBECONFIG=str(self.kubeconfig),
                   HELM_CACHE_HOME=str(CACHE / "helm" / "cache"),
                   HELM_CONFIG_HOME=str(CACHE / "helm" / "config"),
                   HELM_DATA_HOME=str(CACHE / "helm" / "data"))
        return subprocess.run([str(self.helm_bin), *args], env=env, check=check, text=True, capture_output=True)

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.kubectl_bin), "--kubeconfig", str(self.kubeconfig), *args],
                              check=check, text=True, capture_output=True)

    def load_image(self) -> str:
        return load_image()


# --------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tests/cluster", description=__doc__.split("\n")[0])
    p.add_argument("command", choices=("up", "down", "status", "load-image", "build"))
    args = p.parse_args(argv)
    if args.command == "up":
        print(up())
    elif args.command == "down":
        down()
    elif args.command == "status":
        return status()
    elif args.command == "load-image":
        print(load_image())
    elif args.command == "build":
        ensure_built()
    return 0


if __name__ == "__main__":
    sys.exit(main())
