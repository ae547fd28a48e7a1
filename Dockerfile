# syntax=docker/dockerfile:1
# Imprimatur admission webhook image. Both bases are pinned by digest (see docs/dockerfile.md for how they
# were chosen and how to refresh them): a rebuild cannot silently pick up a different base.

# ---- build: full dependency tree, compile TypeScript, then drop devDependencies
# node:22-bookworm-slim
FROM node:22-bookworm-slim@sha256:43ac6c60b8f89723f746e8a92ce91abd5017e627ce1ddfe4238355d3a30b772c AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency install scripts run, and `prepare` (the build) waits for the sources.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && mkdir -p /app/config /app/secrets

# ---- runtime: distroless Node 22, no shell, no package manager
# gcr.io/distroless/nodejs22-debian12:nonroot
FROM gcr.io/distroless/nodejs22-debian12@sha256:13593b7570658e8477de39e2f4a1dd25db2f836d68a0ba771251572d23bb4f8e
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/config ./config
COPY --from=build /app/secrets ./secrets
COPY alert-templates ./alert-templates
# The shipped default policy: `imprimatur check-config` / `explain` without --config, and a starting point.
COPY policies ./policies
# Files stay root-owned and read-only for the process; the chart also sets readOnlyRootFilesystem.
USER 10001:20001
EXPOSE 5000
# No HEALTHCHECK: Kubernetes probes /health and /ready (HTTPS) instead.
ENTRYPOINT ["/nodejs/bin/node", "/app/bin/imprimatur.js"]
CMD ["serve", "--config", "/app/config/config.yaml", "--tls-cert", "/app/certs/tls.crt", "--tls-key", "/app/certs/tls.key", "--host", "*", "--port", "5000"]
