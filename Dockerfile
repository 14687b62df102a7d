# syntax=docker/dockerfile:1
# The incident API image: runtime dependencies from the lock (requirements/main.txt, no dev
# tools, no embedded pgserver), the code under /app, a non-root user, no secrets.
#   docker build -t incident-api .
#   docker run --rm -e DATABASE_URL=... incident-api migrate     (or: alembic upgrade head)
#   docker run --rm -p 8080:8080 -e DATABASE_URL=... -e ALERTMANAGER_TOKEN_FILE=... incident-api
# Python 3.11 on Debian 12, the version requirements/main.txt is compiled for (scripts/lock.sh).
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Wheels exist for every pinned package on linux/amd64 and arm64; no compiler needed.
COPY requirements/main.txt /tmp/main.txt
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-compile --only-binary=:all: -r /tmp/main.txt

FROM python:3.11-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="incident-api" \
      org.opencontainers.image.description="Ops-notification and incident-response backend"
# uid/gid 10001: outside the range of the image's system users; the Kubernetes
# securityContext runs as the same ids.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent app \
    && mkdir -p /data \
    && chown app:app /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini ./
COPY alembic ./alembic
COPY app ./app
# The code runs from /app (not site-packages): migrations and /ready find alembic/ beside it.
# HOST 0.0.0.0: reachable from outside the container. Production refuses to start without
# DATABASE_URL and ALERTMANAGER_TOKEN, and never starts an embedded database.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8080')}/health\", timeout=4)"]
ENTRYPOINT ["python", "-m", "app.cli"]
# Migrations are a separate command (`migrate`, or the Kubernetes Job's `alembic upgrade head`).
CMD ["serve", "--no-migrate"]
