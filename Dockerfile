# A small image of the reconciler for CI systems other than GitHub (see docs/ci.md).
# Build it from a checkout of a release tag:  docker build -t reconciler:v0.1.0 .
# The build stage installs the tool into a virtual environment; the image keeps only that
# environment, git and a non-root user: no pip, setuptools or compilers.

FROM python:3.12-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY . /src
# The client needs one of the ~600 discovery documents googleapiclient bundles (110 MB).
RUN python -m venv /opt/reconciler \
    && /opt/reconciler/bin/pip install --no-cache-dir /src \
    && /opt/reconciler/bin/pip uninstall --yes pip setuptools wheel \
    && find /opt/reconciler/lib/python3*/site-packages/googleapiclient/discovery_cache/documents \
        -name '*.json' ! -name 'admin.directory_v1.json' -delete \
    && /opt/reconciler/bin/python -c "from reconciler.google.client import bundled_discovery as d; d()" \
    && /opt/reconciler/bin/reconciler --version

FROM python:3.12-slim
# git: the commit a plan records, and `reconciler audit`. Debian's current version.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --user-group reconciler \
    && python -m pip uninstall --yes pip
COPY --from=build /opt/reconciler /opt/reconciler
ENV PATH=/opt/reconciler/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /home/reconciler
ENTRYPOINT ["reconciler"]
CMD ["--help"]
