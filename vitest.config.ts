import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-teardown.ts'],
    testTimeout: 30_000,
    hookTimeout: 90_000,
    // Docker-backed files start real containers (and Chromium): two at a time keeps a 2-core machine and its engine responsive.
    maxWorkers: 2,
  },
})
