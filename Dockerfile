# forge-jobs worker / relay / codec server image (docker-compose.yml builds it as forge-jobs:local).
#   docker build -t forge-jobs .
#   docker run --rm forge-jobs worker --config /etc/forge-jobs/forge.runtime.toml --artifact /app/artifact.json
# The command is the forge-jobs subcommand: worker, relay, migrate, setup, codec-server…

FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# glibc's default gives each thread of the worker (Temporal's core, the workflow thread) malloc arenas of
# its own: ~40 MiB more peak RSS for no speed (README, Benchmarks).
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# the helpdesk examples' artifacts, for the compose stack; mount your app's artifact.json instead
COPY examples ./examples
USER node
# small semi-spaces and a slow-growing old generation: half the worker's peak RSS in a large fan-out (src/v8-flags.ts)
ENTRYPOINT ["node", "--max-semi-space-size=2", "--heap-growing-percent=20", "bin/forge-jobs.js"]
CMD ["worker"]
