# One image for the kflow operator and the task runner; pods choose the command
# (`kflow operator`, `kflow-runner` / `python -m kflow.runner`).
#
# BASE_IMAGE: a Debian bookworm root filesystem with python3, python3-venv and
# ca-certificates. The test harness (tests/cluster) makes one with debootstrap and tags it
# localhost/kflow-base:bookworm-py3.
#
# Two stages: the venv is built in `build`, then trimmed and copied alone onto the base, so
# the image has no pip, setuptools or wheel, no build files and only the botocore service
# models kflow uses (S3, and STS/SSO for credential chains), no packages' own tests, no
# kubernetes.aio (42 MB; kopf talks to the API with aiohttp): what is removed in a later
# RUN of a single stage would still be in the earlier layer.
ARG BASE_IMAGE=localhost/kflow-base:bookworm-py3
FROM ${BASE_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    LANG=C.UTF-8

# Dependency layer: only the lock goes in, so it is rebuilt only when that changes. Every
# package, setuptools included, is the exact version and file hash requirements.lock names
# (`tests/lock` regenerates it from pyproject.toml's ranges): an image built any day is the
# one the tests passed with.
COPY requirements.lock /src/requirements.lock
RUN python3 -m venv /opt/kflow \
 && /opt/kflow/bin/pip install --require-hashes --no-deps -r /src/requirements.lock

# The code layer: seconds to rebuild. Then the trim (see above).
COPY pyproject.toml /src/pyproject.toml
COPY kflow /src/kflow
RUN /opt/kflow/bin/pip install --no-deps --no-build-isolation /src \
 && /opt/kflow/bin/pip uninstall --yes --quiet setuptools wheel \
 && /opt/kflow/bin/python -m pip uninstall --yes --quiet pip \
 && cd /opt/kflow/lib/python3*/site-packages/botocore/data \
 && find . -mindepth 1 -maxdepth 1 -type d ! -name s3 ! -name sts ! -name sso ! -name sso-oidc -exec rm -rf {} + \
 && find /opt/kflow -type d -name tests -path '*/site-packages/*/tests' -prune -exec rm -rf {} + \
 && rm -rf /opt/kflow/lib/python3*/site-packages/kubernetes/aio

FROM ${BASE_IMAGE}
ENV VIRTUAL_ENV=/opt/kflow \
    PATH=/opt/kflow/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/tmp \
    USER=kflow \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=build /opt/kflow /opt/kflow

# Numeric, so that pods can run with runAsNonRoot: true.
USER 65532:65532
WORKDIR /tmp
CMD ["kflow", "--help"]
