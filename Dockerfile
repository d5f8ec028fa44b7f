# syntax=docker/dockerfile:1
# Multi-stage build: a static binary on distroless, running as non-root.
#   docker build -t switchboard .
#   docker run -p 8080:8080 -p 4222:4222 -e SWITCHBOARD_API_TOKEN=... -v sbdata:/var/lib/switchboard switchboard
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/switchboard ./cmd/switchboard \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/switchboard /usr/local/bin/switchboard
COPY configs/ /etc/switchboard/
# The data directory (JetStream file store) must be writable by the nonroot user (65532).
COPY --from=build --chown=65532:65532 /out/data /var/lib/switchboard
USER 65532:65532
VOLUME ["/var/lib/switchboard"]
EXPOSE 8080 4222
ENTRYPOINT ["/usr/local/bin/switchboard"]
CMD ["serve", "--config", "/etc/switchboard/switchboard.yaml", "--data-dir", "/var/lib/switchboard", \
     "--http-addr", "0.0.0.0:8080", "--nats-addr", "0.0.0.0:4222", "--log-format", "json"]
