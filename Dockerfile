# syntax=docker/dockerfile:1
#
# One image for every service of the platform. Node 24 runs the TypeScript sources directly
# (type stripping), so there is no build step: the image holds the production node_modules and
# the libs/ and services/ sources. The service is chosen with SERVICE (build arg or run-time env):
#
#   docker build -t assessment-platform .
#   docker run -e SERVICE=auth -e NATS_URL=... -e MONGO_URL=... assessment-platform
#
# SERVICE is one of: auth, assessment, chat, cleanup, gateway (default). docker-compose.yml at the
# repository root wires them all together with nats and mongo.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- manifests: only the package.json files, so the npm install layer is cached until they change
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY libs ./libs
COPY services ./services
RUN find libs services -type f ! -name package.json -delete \
 && find libs services -depth -type d -empty -delete

# ---- deps: production dependencies only (no `node` binary package, no typescript, no test tools)
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY --from=manifests /src/ ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE=gateway
ENV NODE_ENV=production \
    SERVICE=${SERVICE} \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
# node_modules/@ap/* are relative symlinks to ../../libs/* and ../../services/*, which the next
# two COPYs put in place at the same relative paths.
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json package-lock.json ./
COPY --chown=node:node libs ./libs
COPY --chown=node:node services ./services
USER node

EXPOSE 8080
STOPSIGNAL SIGTERM

# Only the gateway serves HTTP; for every other service the check succeeds without doing anything.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "if ((process.env.SERVICE || 'gateway') !== 'gateway') process.exit(0); fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));"]

# `exec` makes node PID 1, so it receives SIGTERM and drains (see @ap/lifecycle).
CMD ["sh", "-c", "exec node services/${SERVICE}/src/main.ts"]
