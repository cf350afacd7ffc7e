# syntax=docker/dockerfile:1
# The worker image: the Container Apps Job entrypoint (dist/src/worker/main.bundle.mjs) archives the one image named by
# ARCHIVE_REQUEST (or restores the one archive named by RESTORE_REQUEST). It streams registry -> tar -> gzip -> staged
# blocks, so it needs no scratch disk and no volume.

# ---- build: every dependency (TypeScript and esbuild are dev dependencies), then tsc and the worker bundle -------
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY src ./src
COPY tools/bundleWorker.ts ./tools/bundleWorker.ts
RUN npm run build

# ---- runtime: the one-file worker (its dependencies inside: no node_modules) and package.json (the version it
# records in each sidecar), as the unprivileged `node` user --------------------------------------------------------
FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=build /app/dist/src/worker/main.bundle.mjs /app/dist/src/worker/main.bundle.mjs.LEGAL.txt ./dist/src/worker/
USER node
ENTRYPOINT ["node", "dist/src/worker/main.bundle.mjs"]
