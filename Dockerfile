# One image for both roles; docker-compose.yml picks `npm run start:web` or `npm run start:worker`.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
COPY package.json package-lock.json ./
# tsx runs the TypeScript sources directly, so it is a runtime dependency and no build step is needed.
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY adapters ./adapters
COPY dialogs ./dialogs
COPY locales ./locales
COPY examples ./examples
COPY tsconfig.json ./
USER node
EXPOSE 3000
CMD ["npm", "start"]
