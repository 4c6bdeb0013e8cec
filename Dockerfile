# syntax=docker/dockerfile:1
# One image for the four services, the load generator and the healthcheck probe: the `ordertrail`
# binary (crates/ordertrail-factory) that `cargo build --release --locked --bin ordertrail` builds
# in the workspace (default features, the committed Cargo.lock).
#
# Followed: LukeMathWalker/cargo-chef README.md ("How to use": planner -> cook -> build, cook and
# build in the same WORKDIR so the cached dependencies are reused), runtime on distroless
# (gcr.io/distroless/cc-debian13:nonroot: glibc + libgcc, no shell, uid 65532). The builder is Debian trixie too, so the binary's glibc matches the
# runtime's.
#
#   docker build -t ordertrail:local .
#   docker run --rm ordertrail:local serve gateway --help

ARG RUST_IMAGE=rust:1.97-trixie
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian13:nonroot

FROM ${RUST_IMAGE} AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /app

# The recipe: every manifest and Cargo.lock, nothing else (stable while only sources change).
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
# Dependencies only: this layer is cached until Cargo.toml or Cargo.lock change.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin ordertrail \
 && mkdir -p /out/data \
 && cp target/release/ordertrail /out/ordertrail

FROM ${RUNTIME_IMAGE} AS runtime
COPY --from=builder /out/ordertrail /usr/local/bin/ordertrail
# The orders database directory, owned by the runtime user: a named volume mounted here starts
# with this ownership, so the non-root process can create orders.sqlite3.
COPY --from=builder --chown=65532:65532 /out/data /data
USER 65532:65532
ENV ORDERTRAIL_LOG_FORMAT=json
ENTRYPOINT ["/usr/local/bin/ordertrail"]
CMD ["--help"]
