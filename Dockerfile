# sluice in a container. Build: docker build -t sluice .   Run: see docs/docker.md.
# Two stages: the TypeScript compiler and other devDependencies never reach the runtime image.
# Node 24, the newest LTS in package.json's engines (test/docker.test.ts checks that they agree).

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# No runtime dependency needs an install script; skipping them keeps the install from running code.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY config ./config
# A fixed uid/gid, so that a volume's ownership means the same thing on every host and image version.
RUN groupadd --system --gid 10001 sluice \
 && useradd --system --uid 10001 --gid sluice --home-dir /var/lib/sluice --shell /usr/sbin/nologin sluice \
 && mkdir -p /var/lib/sluice /etc/sluice \
 && chown sluice:sluice /var/lib/sluice
USER sluice
WORKDIR /var/lib/sluice
# Checkpoints, and with the embedded default the warehouse and catalog: they must outlive the container.
VOLUME ["/var/lib/sluice"]
# /metrics, /health, /ready (metrics.port). Set metrics.host: 0.0.0.0 for Prometheus outside the container.
EXPOSE 9464
# SIGTERM is the clean stop: finish the transaction, final checkpoint, exit 0. Give it time:
# docker stop --time 300 (or stop_grace_period in compose), since Docker's default is 10 s.
STOPSIGNAL SIGTERM
# A URL rather than a fixed port, so a config with another metrics.port keeps a working health check.
ENV SLUICE_HEALTH_URL=http://127.0.0.1:9464/health
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.SLUICE_HEALTH_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/sluice.js"]
CMD ["run", "--config", "/etc/sluice/sluice.yaml"]
