import { configDefaults, defineConfig } from 'vitest/config'

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
          exclude: [
            ...configDefaults.exclude,
            'test/engine/**',
            'test/swarm/**',
            'test/kubernetes/**',
            'test/browser/real-apps.test.ts',
          ],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Real applications in Chromium, after the main suites and alone: Chromium drops requests and
        // WebSockets in flight when the host's network interfaces change (ERR_NETWORK_CHANGED), which
        // every container another suite starts or removes does; twice in a row an app's page never
        // came up beside them, and alone it always did.
        extends: true,
        test: { name: 'apps', include: ['test/browser/real-apps.test.ts'], sequence: { groupOrder: 1 } },
      },
      {
        // Suites that stop the Docker Engine itself: after every other suite, alone.
        extends: true,
        test: { name: 'engine', include: ['test/engine/**/*.test.ts'], sequence: { groupOrder: 2 } },
      },
      {
        // A three-node Swarm cluster of nested engines: last, alone, and slow on 2 cores
        // (`npm run test:swarm`).
        extends: true,
        test: {
          name: 'swarm',
          include: process.env.HDE_TEST_SWARM === '1' ? ['test/swarm/**/*.test.ts'] : [],
          sequence: { groupOrder: 3 },
          testTimeout: 180_000,
        },
      },
      {
        // A Kubernetes cluster built here from the Go module proxy (`npm run test:kubernetes`).
        extends: true,
        test: {
          name: 'kubernetes',
          include: process.env.HDE_TEST_KUBERNETES === '1' ? ['test/kubernetes/**/*.test.ts'] : [],
          sequence: { groupOrder: 4 },
          testTimeout: 600_000,
        },
      },
    ],
  },
})
