# syntax=docker/dockerfile:1
#
# One image for every service of the platform. Node 24 runs the TypeScript sources directly
# (type stripping), so the services need no build step: the image holds the production
# node_modules and the libs/ and services/ sources. The one thing built is the web page the
# gateway serves (candidate page and proctor dashboard): esbuild is a development dependency, so
# a `web` stage bundles it into web/dist, which the gateway serves when it cannot build in memory.
# The service is chosen with SERVICE (build arg or run-time env):
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

# ---- web: the pages, bundled by web/build.ts with esbuild (a dev dependency). --ignore-scripts:
# esbuild's binary comes from its platform package, and nothing else is run here.
FROM ${NODE_IMAGE} AS web
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=manifests /src/ ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY libs ./libs
COPY web ./web
RUN node web/build.ts web/dist

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
# The gateway finds the pages at web/dist (services/gateway/src/static.ts): without esbuild and
# web/build.ts in the image it serves these files, and the page answers 503 without them.
COPY --from=web --chown=node:node /app/web/dist ./web/dist
USER node

# 8080: the gateway (HTTP, WebSockets, /metrics); 9464: METRICS_PORT of the other services.
EXPOSE 8080 9464
STOPSIGNAL SIGTERM

# /healthz of the gateway on PORT, of every other service on METRICS_PORT (0 turns that server
# off, and then there is nothing to check).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const e = process.env; const port = (e.SERVICE || 'gateway') === 'gateway' ? (e.PORT || '8080') : (e.METRICS_PORT || '9464'); if (port === '0') process.exit(0); fetch('http://127.0.0.1:' + port + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));"]

# `exec` makes node PID 1, so it receives SIGTERM and drains (see @ap/lifecycle).
CMD ["sh", "-c", "exec node services/${SERVICE}/src/main.ts"]
