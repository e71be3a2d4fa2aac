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

# The Velero plugin image: `docker build --target velero-plugin -t imagestream-backup-velero-plugin .`
# As with Velero's own plugin images, Velero runs it as an init container whose entrypoint copies
# the plugin executable into /target (Velero's plugins folder). The executable is a Node.js
# single executable application: it needs glibc 2.28+, libstdc++ and libgcc_s from the Velero
# image it runs in (README: Installing the Velero plugin).
FROM build AS plugin-build
RUN apt-get update && apt-get install -y --no-install-recommends binutils && rm -rf /var/lib/apt/lists/*
COPY plugin plugin
RUN npm run build:plugin

FROM busybox:1.37 AS velero-plugin
COPY --from=plugin-build /src/dist/plugin/velero-plugin-for-imagestreams /plugins/
USER 65532
ENTRYPOINT ["cp", "/plugins/velero-plugin-for-imagestreams", "/target/velero-plugin-for-imagestreams"]

# The controller image (the default target).
FROM node:24-bookworm-slim
WORKDIR /app
# Memory: glibc's per-thread malloc arenas and V8's default young generation (16 MiB
# semi-spaces) each cost tens of MiB of peak RSS for nothing here (npm run bench --
# --big-layer 4); the benchmark runs the controller with these same ENV lines. 2 MiB
# semi-spaces free the stream chunks sooner: 252 MiB peak instead of 260 on the reference set
# with a 4 GiB layer (issue 17). A fixed MALLOC_MMAP_THRESHOLD_ did not lower the peak and
# halved the backup's throughput in two runs: not set.
ENV NODE_ENV=production MALLOC_ARENA_MAX=2 NODE_OPTIONS=--max-semi-space-size=2
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist/controllers dist/controllers
COPY --from=build /src/dist/pkg dist/pkg
COPY crds crds
# OpenShift runs the pod under an arbitrary UID; nothing here needs to be writable.
USER 65532
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/controllers/main.js"]
