# schetask: one image for the migrate, sync, worker and web services.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/schetask ./cmd/schetask

FROM debian:bookworm-slim
# node runs index.js tasks; tini reaps the orphans of tasks' children.
RUN apt-get update && apt-get install -y --no-install-recommends nodejs python3 tini ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --uid 10001 schetask
COPY --from=build /out/schetask /usr/local/bin/schetask
USER schetask
WORKDIR /srv/schetask
ENV SCHETASK_TASKS_DIR=/srv/schetask/task
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/schetask"]
CMD ["all"]
