# The gateway's image: compiled in one stage, run in a slim one with production dependencies only.
#
#   docker build -t hono-docker-engine .
#   docker run -d --name hono-docker-engine --network host \
#     -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)" \
#     -v hde-data:/app/.data hono-docker-engine
#
# Configuration: HDE_* variables (HDE_LISTEN_PORT=9000, …) or a file mounted at
# /app/wrangler-free-local-config.json (or named by HONO_DOCKER_ENGINE_CONFIG).
# The base images are build arguments; the default is the official Node image.
ARG NODE_IMAGE=node:24-slim
ARG BUILD_IMAGE=${NODE_IMAGE}

FROM ${BUILD_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
# Compiling needs no dependency's install script.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && mkdir -p /build/.data

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /build/package.json ./
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
COPY bin ./bin
# History and per-container state (dataDir, relative to /app), kept across restarts in a volume.
COPY --from=build --chown=10001:10001 /build/.data ./.data
VOLUME /app/.data
# Not root: the engine's socket is reached through its group (docker run --group-add).
USER 10001:10001
EXPOSE 8000 8001
# Node is PID 1 and the gateway handles SIGTERM itself: requests in flight finish (shutdown.graceSeconds).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=6s --start-period=10s --retries=3 \
  CMD ["node", "/app/bin/hono-docker-engine.js", "health"]
ENTRYPOINT ["node", "/app/bin/hono-docker-engine.js"]
CMD ["serve"]
