# One image for the kflow operator and the task runner; pods choose the command
# (`kflow operator`, `kflow-runner` / `python -m kflow.runner`).
#
# BASE_IMAGE: a Debian bookworm root filesystem with python3, python3-venv and
# ca-certificates. The test harness (tests/cluster) makes one with debootstrap and tags it
# localhost/kflow-base:bookworm-py3.
ARG BASE_IMAGE=localhost/kflow-base:bookworm-py3
FROM ${BASE_IMAGE}

ENV VIRTUAL_ENV=/opt/kflow \
    PATH=/opt/kflow/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/tmp \
    USER=kflow \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Dependency layer: only the lock goes in, so it is rebuilt only when that changes. Every
# package, setuptools included, is the exact version and file hash requirements.lock names
# (`tests/lock` regenerates it from pyproject.toml's ranges): an image built any day is the
# one the tests passed with.
COPY requirements.lock /src/requirements.lock
RUN python3 -m venv /opt/kflow \
 && /opt/kflow/bin/pip install --require-hashes --no-deps -r /src/requirements.lock

# The code layer: seconds to rebuild.
COPY pyproject.toml /src/pyproject.toml
COPY kflow /src/kflow
RUN /opt/kflow/bin/pip install --no-deps --no-build-isolation /src \
 && rm -rf /src/build /src/*.egg-info

# Numeric, so that pods can run with runAsNonRoot: true.
USER 65532:65532
WORKDIR /tmp
CMD ["kflow", "--help"]
