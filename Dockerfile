# syntax=docker/dockerfile:1
# The Warrant image: one image for the control plane (`warrant serve`) and the gateway (`warrant gateway`).
# Multi-stage: production dependencies are installed in a throw-away stage; the runtime stage has Node.js 24,
# the dependencies, the sources (Node 24 runs the TypeScript directly, no build step) and runs as the
# unprivileged `node` user. See docs/deployment.md (this recipe is not built on the development machine:
# it has no Docker).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY policies ./policies
COPY src ./src
# dataDir (ledger and Txn-Token keys when not mounted); owned by the runtime user, 0700.
RUN mkdir -p /var/lib/warrant && chown node:node /var/lib/warrant && chmod 0700 /var/lib/warrant
USER node
EXPOSE 8080 8081
ENTRYPOINT ["node", "bin/warrant.js"]
CMD ["serve", "--config", "/etc/warrant/warrant.yaml"]
