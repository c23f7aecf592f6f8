# syntax=docker/dockerfile:1
# switch-telemetry: one image, one role per container (docs/deploy.md).
#   docker build -t switch-telemetry .
#   docker run switch-telemetry migrate | collector | control | web | simulator
# Roles run TypeScript through tsx (ADR 001), so the sources ship as they are; the web
# app is built here. The final stage has production dependencies only and runs as `node`.

ARG NODE_IMAGE=node:20-bookworm-slim

# ── build: every dependency, then the web build (as scripts/infra/web-build.ts does it) ──
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN cd web && node ../node_modules/@react-router/dev/bin.js build

# ── prod-deps: production dependencies only (tsx is one: the roles run through it) ──
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ── runtime ──
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    LOG_FORMAT=json \
    DATA_DIR=/var/lib/switch-telemetry \
    WEB_HOST=0.0.0.0 \
    COLLECTOR_METRICS_HOST=0.0.0.0 \
    CONTROL_HEALTH_HOST=0.0.0.0 \
    SIM_HOST=0.0.0.0
WORKDIR /app
RUN mkdir -p /var/lib/switch-telemetry && chown node:node /var/lib/switch-telemetry
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/web/build ./web/build
COPY . .
USER node
# Ports by role (core/roles.ts): web 3000, collector /metrics 9464, control health 9465, simulator control 57399.
EXPOSE 3000 9464 9465 57399
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["/app/deploy/docker-entrypoint.sh", "healthcheck"]
ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]
CMD ["web"]
