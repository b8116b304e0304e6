# schetask: one image for the migrate, sync, worker and web services.
# Multi-stage: Go builds a static binary; the runtime is Debian slim with
# Node (for index.js tasks), Python and tini, running as a non-root user.
# Tasks run as schetask-task (uid 10002) when the worker starts as root
# with the capabilities docker-compose.yml gives it.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/schetask ./cmd/schetask

FROM debian:bookworm-slim
# node runs index.js tasks; tini reaps the orphans of tasks' children.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs python3 tini ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --uid 10001 schetask \
    && useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --uid 10002 schetask-task \
    && mkdir -p /srv/schetask/task /resources && chown schetask /srv/schetask/task /resources
COPY --from=build /out/schetask /usr/local/bin/schetask
COPY deploy/config /srv/schetask/deploy/config
USER schetask
WORKDIR /srv/schetask
ENV SCHETASK_TASKS_DIR=/srv/schetask/task \
    SCHETASK_ENV=production
EXPOSE 8080 9464
HEALTHCHECK --interval=15s --timeout=6s --retries=3 CMD ["/usr/local/bin/schetask", "healthcheck", "http://127.0.0.1:9464/healthz"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/schetask"]
CMD ["all"]
