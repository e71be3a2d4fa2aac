# The controller image: `docker build -t imagestream-backup .` (not built in CI: the CI
# machine has no container engine).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY controllers controllers
COPY pkg pkg
COPY test/fixture test/fixture
RUN npx tsc -p tsconfig.build.json

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist/controllers dist/controllers
COPY --from=build /src/dist/pkg dist/pkg
COPY crds crds
# OpenShift runs the pod under an arbitrary UID; nothing here needs to be writable.
USER 65532
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/controllers/main.js"]
