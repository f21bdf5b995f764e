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

# Dependency layer: only pyproject.toml goes in, so it is rebuilt only when that changes.
COPY pyproject.toml /src/pyproject.toml
RUN python3 -m venv /opt/kflow \
 && python3 -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" > /src/requirements.txt \
 && /opt/kflow/bin/pip install "setuptools>=70.1" -r /src/requirements.txt

# The code layer: seconds to rebuild.
COPY kflow /src/kflow
RUN /opt/kflow/bin/pip install --no-deps --no-build-isolation /src \
 && rm -rf /src/build /src/*.egg-info

# Numeric, so that pods can run with runAsNonRoot: true.
USER 65532:65532
WORKDIR /tmp
CMD ["kflow", "--help"]
