# syntax=docker/dockerfile:1
# Production image: compiled JavaScript on Node.js 24 LTS, production dependencies only,
# running as the unprivileged `node` user. It expects MONGODB_URI and GATEHOUSE_MASTER_KEY
# (see docker-compose.yml); the bundled development engine is not part of the image.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000 \
    GATEHOUSE_DATA_DIR=/app/data
WORKDIR /app
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
COPY --chown=root:root views ./views
# Data files the compiled code reads from the source tree (password blocklist, SAML schemas).
COPY --chown=root:root src/auth/data ./src/auth/data
COPY --chown=root:root src/saml/schemas ./src/saml/schemas
COPY --chown=root:root bin ./bin
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
