import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    globalSetup: ['test/global-teardown.ts'],
    testTimeout: 30_000,
    hookTimeout: 90_000,
    // Docker-backed files start real containers (and Chromium): two at a time keeps a 2-core machine and its engine responsive.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['test/**/*.test.ts'],
          exclude: ['test/engine/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Suites that stop the Docker Engine itself: after every other suite, alone.
        extends: true,
        test: { name: 'engine', include: ['test/engine/**/*.test.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
})
