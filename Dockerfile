# syntax=docker/dockerfile:1
#
# vllm-sim image: the simulator binary plus the shipped scenarios in /scenarios.
#
#   docker build -t vllm-sim .
#   docker run --rm -p 8001-8004:8001-8004 vllm-sim                  # healthy scenario
#   docker run --rm -p 8001-8004:8001-8004 vllm-sim run judge-backlog
#
# The runtime stage is debian:bookworm-slim rather than distroless so that the
# compose healthcheck can call curl; the binary itself needs only glibc.

FROM rust:1.95-slim-bookworm AS builder
# The slim image has gcc but not make, which the jemalloc allocator's build needs
# (the image's binary allocates with jemalloc: simulator/Cargo.toml).
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The cache mounts keep the crate registry and target/ between builds; the binary is
# copied out of the cached target/ because cache mounts are not part of the layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --profile dist --locked -p vllm-sim --features jemalloc \
    && cp target/dist/vllm-sim /usr/local/bin/vllm-sim

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --user-group --uid 10001 --no-create-home --shell /usr/sbin/nologin vllm-sim
COPY --from=builder /usr/local/bin/vllm-sim /usr/local/bin/vllm-sim
COPY scenarios/ /scenarios/
# Where `run --history-out` writes in the compose stack (a named volume, which takes
# this directory's mode: Prometheus's user removes the file once it holds the blocks).
RUN mkdir -m 0777 /history
# Listen on every interface: inside a container 127.0.0.1 is unreachable from
# Prometheus and from the host's published ports.
ENV VLLM_SIM_BIND=0.0.0.0
USER vllm-sim:vllm-sim
# 8000 is the lab gateway; 8001-8004 are the fp16, awq, lora and judge pods.
EXPOSE 8000-8004
ENTRYPOINT ["vllm-sim"]
CMD ["run"]
