"""Certificates of the test cluster, made with the ``openssl`` command line.

One self-signed CA signs nearly every certificate: the API server's serving certificate, the
kubelet's serving certificate, and one client certificate per component (the CN is the
Kubernetes user name, O the groups).  A second CA, ``front-proxy-ca``, signs only the API server's
aggregation-layer client certificate (as in a kubeadm cluster).  The service-account token signing key is a separate
RSA key pair.  Files that already exist are kept, so a restart reuses them.
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

DAYS = "3650"


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _key(path: Path) -> None:
    if not path.exists():
        _openssl("genrsa", "-out", str(path), "2048")
        path.chmod(0o600)


def ensure_ca(pki: Path, name: str = "ca") -> tuple[Path, Path]:
    pki.mkdir(parents=True, exist_ok=True)
    key, crt = pki / f"{name}.key", pki / f"{name}.crt"
    _key(key)
    if not crt.exists():
        _openssl("req", "-x509", "-new", "-key", str(key), "-out", str(crt), "-days", DAYS,
                 "-subj", f"/CN=kflow-test-cluster-{name}",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature")
    return crt, key


def ensure_cert(pki: Path, name: str, cn: str, orgs: tuple[str, ...] = (), *,
                server_sans: tuple[str, ...] = (), client: bool = True, ca: str = "ca") -> tuple[Path, Path]:
    """Make ``name.crt``/``name.key`` signed by CA ``ca``; SANs as ``DNS:x`` / ``IP:y``."""
    ca_crt, ca_key = ensure_ca(pki, ca)
    key, crt = pki / f"{name}.key", pki / f"{name}.crt"
    _key(key)
    if crt.exists():
        return crt, key
    subj = "".join(f"/O={o}" for o in orgs) + f"/CN={cn}"
    usages = (["serverAuth"] if server_sans else []) + (["clientAuth"] if client else [])
    ext = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={','.join(usages)}",
    ]
    if server_sans:
        ext.append("subjectAltName=" + ",".join(server_sans))
    with tempfile.TemporaryDirectory() as tmp:
        csr, extfile = Path(tmp) / "req.csr", Path(tmp) / "ext.cnf"
        extfile.write_text("\n".join(ext) + "\n")
        _openssl("req", "-new", "-key", str(key), "-out", str(csr), "-subj", subj)
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key),
                 "-CAcreateserial", "-out", str(crt), "-days", DAYS, "-sha256", "-extfile", str(extfile))
    return crt, key


def ensure_sa_keypair(pki: Path) -> tuple[Path, Path]:
    key, pub = pki / "sa.key", pki / "sa.pub"
    _key(key)
    if not pub.exists():
        _openssl("rsa", "-in", str(key), "-pubout", "-out", str(pub))
    return key, pub


def kubeconfig(path: Path, server: str, ca: Path, crt: Path, key: Path, user: str) -> Path:
    """A kubeconfig file that refers to the certificate files by path."""
    text = f"""apiVersion: v1
kind: Config
clusters:
- name: kflow
  cluster:
    server: {server}
    certificate-authority: {ca}
users:
- name: {user}
  user:
    client-certificate: {crt}
    client-key: {key}
contexts:
- name: kflow
  context:
    cluster: kflow
    user: {user}
current-context: kflow
"""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
        path.chmod(0o600)
    return path
