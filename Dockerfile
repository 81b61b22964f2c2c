# Rapport API image.
#
#   docker build -t rapport .
#   (or: buildah bud --format docker -t rapport .  -- the OCI format drops HEALTHCHECK)
#
# Configuration comes only from the environment (RAPPORT_DATABASE_URL, RAPPORT_SECRET_KEY,
# RAPPORT_SERVICE_TOKEN, RAPPORT_TRUSTED_PROXIES, WEB_CONCURRENCY; docs/deployment.md lists them):
#
#   docker run -p 8000:8000 -e RAPPORT_DATABASE_URL=postgresql://... \
#       -e RAPPORT_SECRET_KEY=... -e RAPPORT_TRUSTED_PROXIES=<proxy address> rapport
#
# Migrations do NOT run on start: several replicas starting at once would race on the schema,
# and a failing migration should stop the release rather than crash-loop the web tier. Run them
# once per release, as a one-shot job from the same image, before rolling out the new version:
#
#   docker run --rm -e RAPPORT_DATABASE_URL=postgresql://... rapport alembic upgrade head
#
# No `# syntax=` line on purpose: it makes BuildKit pull a frontend image from a registry.

FROM python:3.11-slim AS build

# The same uv as the Makefile's UV_VERSION, so the image installs the lock the way `make install`
# does. Installed from PyPI: no registry is reachable for `COPY --from=ghcr.io/astral-sh/uv`.
ARG UV_VERSION=0.13.9
RUN python -m pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

# Runtime dependencies only (requirements.runtime.lock has no pytest/ruff/mypy). Hashes are
# checked; --no-build refuses sdists, so no compiler is ever needed and wheels are what CI tested.
# Bytecode is compiled here because the non-root user cannot write __pycache__ at run time.
COPY requirements.runtime.lock /tmp/requirements.runtime.lock
RUN uv venv --quiet --python /usr/local/bin/python3.11 /opt/venv \
    && uv pip sync --quiet --no-cache --require-hashes --no-build --compile-bytecode \
        --python /opt/venv/bin/python /tmp/requirements.runtime.lock


FROM python:3.11-slim AS runtime

# A fixed numeric uid, so orchestrators can verify `runAsNonRoot` without reading /etc/passwd.
RUN groupadd --system --gid 10001 rapport \
    && useradd --system --uid 10001 --gid rapport --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin rapport \
    && mkdir /data && chown rapport:rapport /data

# PYTHONPATH makes `app` importable for alembic as well as uvicorn, whatever the working folder.
# The default database is a SQLite file in /data (the code folder is read-only for the app user);
# mount a volume there to keep it, or point RAPPORT_DATABASE_URL at PostgreSQL in production.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RAPPORT_DATABASE_URL=sqlite:////data/rapport.db \
    WEB_CONCURRENCY=2

WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY app ./app
COPY alembic ./alembic
COPY alembic.ini ./
RUN python -m compileall -q app alembic

USER 10001:10001
EXPOSE 8000

# Liveness only (/readyz checks the database; a database outage should not get the container
# restarted). Python's urllib because the slim image has no curl; a non-2xx answer raises.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# `exec` makes uvicorn PID 1, so it receives SIGTERM and drains open requests for up to 20 s
# (the database statement timeout is 15 s); give the container a longer stop grace period than
# that (`docker stop -t 30`; Kubernetes' default of 30 s fits).
# The secret is required here even with SQLite: without it every worker would sign tokens and
# cursors with its own random key, and requests would fail whenever they reach another worker.
# --no-proxy-headers: Rapport itself reads X-Forwarded-For/-Proto, from the addresses in
# RAPPORT_TRUSTED_PROXIES only; uvicorn must not rewrite the client address before it does.
STOPSIGNAL SIGTERM
CMD : "${RAPPORT_SECRET_KEY:?must be set (every worker needs the same signing key)}" \
    && exec uvicorn app.main:app --host 0.0.0.0 --port 8000 --workers "${WEB_CONCURRENCY:-2}" \
        --no-proxy-headers --timeout-graceful-shutdown 20
