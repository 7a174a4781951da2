# Multi-stage build: a release binary on a slim, non-root runtime image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p crm-server && strip target/release/crm-server

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --create-home crm
COPY --from=build /src/target/release/crm-server /usr/local/bin/crm-server
USER crm
WORKDIR /data
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8000/health || exit 1
ENTRYPOINT ["crm-server"]
CMD ["serve"]
