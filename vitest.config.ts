import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The first test in a file trains the NLU (a few seconds); integration tests start servers.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
