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
          exclude: ['test/engine/**', 'test/swarm/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Suites that stop the Docker Engine itself: after every other suite, alone.
        extends: true,
        test: { name: 'engine', include: ['test/engine/**/*.test.ts'], sequence: { groupOrder: 1 } },
      },
      {
        // A three-node Swarm cluster of nested engines: last, alone, and slow on 2 cores
        // (`npm run test:swarm`).
        extends: true,
        test: {
          name: 'swarm',
          include: process.env.HDE_TEST_SWARM === '1' ? ['test/swarm/**/*.test.ts'] : [],
          sequence: { groupOrder: 2 },
          testTimeout: 180_000,
        },
      },
    ],
  },
})
