# syntax=docker/dockerfile:1
# The worker image: the Container Apps Job entrypoint (dist/src/worker/main.js) archives the one image named by
# ARCHIVE_REQUEST. It streams registry -> tar -> gzip -> staged blocks, so it needs no scratch disk and no volume.

# ---- build: every dependency (TypeScript is a dev dependency), then the compiler ---------------------------------
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and the compiled sources only, as the unprivileged `node` user -------------
FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
 && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
USER node
ENTRYPOINT ["node", "dist/src/worker/main.js"]
