# The controller image: `docker build -t imagestream-backup .` (not built in CI: the CI
# machine has no container engine).
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY controllers controllers
COPY pkg pkg
COPY test/fixture test/fixture
RUN npx tsc -p tsconfig.build.json

FROM node:24-bookworm-slim
WORKDIR /app
# Memory: glibc's per-thread malloc arenas and V8's default young generation (16 MiB
# semi-spaces) each cost tens of MiB of peak RSS for nothing here (npm run bench --
# --big-layer 4); the benchmark runs the controller with these same ENV lines.
ENV NODE_ENV=production MALLOC_ARENA_MAX=2 NODE_OPTIONS=--max-semi-space-size=4
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist/controllers dist/controllers
COPY --from=build /src/dist/pkg dist/pkg
COPY crds crds
# OpenShift runs the pod under an arbitrary UID; nothing here needs to be writable.
USER 65532
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/controllers/main.js"]
