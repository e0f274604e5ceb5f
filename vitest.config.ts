import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-teardown.ts'],
    testTimeout: 30_000,
    hookTimeout: 90_000,
    // Docker-backed files start real containers; a few at a time keeps a 2-core machine responsive.
    maxWorkers: 3,
  },
})
