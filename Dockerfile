# meetings-mcp over streamable HTTP at :8000/mcp. The image holds no secrets: pass
# MEETINGS_HTTP_TOKEN (and any backend credentials) when the container starts, e.g.
#   docker run --env-file .env -p 8000:8000 -v meetings-data:/data IMAGE

FROM python:3.11-slim AS wheel
WORKDIR /src
COPY . .
# Only our own wheel: the runtime stage resolves the dependencies itself.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MEETINGS_DB=/data/meetings.db
COPY --from=wheel /wheels /wheels
# With the postgres extra, so MEETINGS_DB may also be a postgresql:// URL (several replicas).
# The wheel is this checkout's own build (hadolint reads "${wheel}[postgres]" as an unpinned name).
# hadolint ignore=DL3013
RUN wheel="$(echo /wheels/*.whl)" \
    && pip install --no-cache-dir "${wheel}[postgres]" \
    && rm -rf /wheels \
    && useradd --system --no-log-init --uid 10001 --create-home --home-dir /home/meetings meetings \
    && mkdir /data \
    && chown meetings:meetings /data
# A named volume starts as a copy of /data, so it is owned by the server's user.
VOLUME ["/data"]
USER 10001:10001
WORKDIR /home/meetings
EXPOSE 8000
# /healthz needs no token; the slim image has no curl, so Python asks.
HEALTHCHECK --interval=30s --timeout=5s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["meetings-mcp"]
# Any other command line replaces this one, e.g. `docker run IMAGE audit --limit 20`.
CMD ["--transport", "http", "--host", "0.0.0.0", "--port", "8000"]
