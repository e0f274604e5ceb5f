import { afterAll, describe, expect, it } from 'vitest'
import type { Backend, BackendEvent, LaunchSpec } from '../../src/backend.js'
import { BackendUnavailableError, ContainerNotFoundError, NameConflictError } from '../../src/errors.js'

/** Names of the suite's tests that a backend may skip, with a reason. */
export type ConformanceTest = 'stop and start' | 'watch' | 'pull' | 'prune volumes' | 'files' | 'unreachable engine'

/** Tests a backend skips, and why (printed in the test title). */
export interface SkippedTests {
  reason: string
  tests: ConformanceTest[]
}

/** How to exercise one backend implementation. */
export interface BackendTestOptions {
  /** Suite title, e.g. `docker`. */
  name: string
  backend: Backend
  /** The same backend pointed at an engine that is not there, for the unreachable-engine test. */
  unreachable?: () => Backend
  /** An image reference the backend can pull (e.g. from a loopback registry); resolved when the pull test runs. */
  pullableImage?: () => Promise<string>
  /** Tests this backend skips, each group with its reason. Capabilities it lacks are skipped on their own. */
  skip?: SkippedTests[]
  /** Backend-specific tests, run inside the same describe block. */
  additionalTests?: () => void
  /** An image that serves HTTP on `port` and prints `logLine` at start. */
  image: string
  port: number
  /** Text the container writes to its output soon after it starts. */
  logLine: string
  /** A fresh container name per call. */
  newName: () => string
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text()
}

/**
 * The conformance suite every {@link Backend} must pass. Each backend's test file calls it
 * with its own factory; new engines plug in the same way.
 */
export function testBackend(options: BackendTestOptions): void {
  const { backend } = options
  /** The reason a test is skipped: named by the caller, or a capability the backend lacks. */
  const skipped = (test: ConformanceTest, missing?: string): string | undefined =>
    options.skip?.find((group) => group.tests.includes(test))?.reason ?? missing
  /** `it`, or `it.skip` with the reason in its title. */
  const conform = (test: ConformanceTest, title: string, missing: string | undefined, body: () => Promise<void>) => {
    const reason = skipped(test, missing)
    // Skipped only for a stated reason: a capability this backend does not have (e.g. the memory
    // backend cannot pull) or a group its test file names; the reason is printed in the title.
    if (reason) it.skip(`${title} (skipped: ${reason})`, body)
    else it(title, body)
  }
  const launched: string[] = []
  const spec = (overrides: Partial<LaunchSpec> = {}): LaunchSpec => {
    const name = options.newName()
    launched.push(name)
    return {
      name,
      image: options.image,
      port: options.port,
      env: {},
      labels: { 'hde.test': 'suite' },
      cpus: 0.5,
      memReservationMb: 16,
      extraDirectories: [],
      ...overrides,
    }
  }

  describe(`backend conformance: ${options.name}`, () => {
    afterAll(async () => {
      for (const name of launched) await backend.remove(name).catch(() => {})
    })

    it('ping reports a version', async () => {
      const info = await backend.ping()
      expect(info.version).toEqual(expect.any(String))
      expect(info.version.length).toBeGreaterThan(0)
    })

    it('launch returns a running record with an upstream', async () => {
      const s = spec()
      const record = await backend.launch(s)
      expect(record).toMatchObject({
        name: s.name,
        image: options.image,
        state: 'running',
        port: options.port,
        memReservationMb: 16,
      })
      expect(record.labels['hde.test']).toBe('suite')
      expect(record.upstream).toMatch(/^http:\/\/[^/]+:\d+$/)
      expect(Date.parse(record.createdAt)).not.toBeNaN()
      expect(record.createdAt.endsWith('Z')).toBe(true)
    })

    it('launch settings the proxy depends on come back from launch, inspect and list', async () => {
      const kept = spec({ access: 'token', stripPrefix: false })
      const plain = spec()
      await backend.launch(kept)
      await backend.launch(plain)
      const listed = await backend.list()
      for (const record of [await backend.inspect(kept.name), listed.find((r) => r.name === kept.name)]) {
        expect(record).toMatchObject({ access: 'token', stripPrefix: false })
      }
      for (const record of [await backend.inspect(plain.name), listed.find((r) => r.name === plain.name)]) {
        expect(record?.stripPrefix).toBeUndefined()
        expect(record?.access).toBeUndefined()
      }
    })

    it('inspect finds a launched container by exact name only', async () => {
      const s = spec()
      const record = await backend.launch(s)
      expect((await backend.inspect(s.name))?.id).toBe(record.id)
      expect(await backend.inspect(s.name.slice(0, -1))).toBeUndefined()
      expect(await backend.inspect(`${s.name}x`)).toBeUndefined()
    })

    it('list includes launched containers', async () => {
      const s = spec()
      await backend.launch(s)
      const names = (await backend.list()).map((r) => r.name)
      expect(names).toContain(s.name)
    })

    it('a second launch with the same name is a NameConflictError', async () => {
      const s = spec()
      await backend.launch(s)
      await expect(backend.launch({ ...s })).rejects.toBeInstanceOf(NameConflictError)
    })

    it('remove removes, then reports false', async () => {
      const s = spec()
      await backend.launch(s)
      expect(await backend.remove(s.name)).toBe(true)
      expect(await backend.inspect(s.name)).toBeUndefined()
      expect((await backend.list()).map((r) => r.name)).not.toContain(s.name)
      expect(await backend.remove(s.name)).toBe(false)
    })

    it('logs stream what the container printed', async () => {
      const s = spec()
      await backend.launch(s)
      let text = ''
      for (let i = 0; i < 50 && !text.includes(options.logLine); i++) {
        text = await readAll(await backend.logs(s.name))
        if (!text.includes(options.logLine)) await new Promise((r) => setTimeout(r, 100))
      }
      expect(text).toContain(options.logLine)
    })

    conform(
      'stop and start',
      'stop and start: the container keeps its name, loses and regains its upstream',
      backend.stop && backend.start ? undefined : 'the backend cannot stop and start (no scale to zero)',
      async () => {
        if (!backend.stop || !backend.start) return
        const s = spec({ idleTimeoutSeconds: 30, readinessPath: '/healthz' })
        const launched = await backend.launch(s)
        expect(launched).toMatchObject({ idleTimeoutSeconds: 30, readinessPath: '/healthz' })
        await backend.stop(s.name)
        const stopped = await backend.inspect(s.name)
        expect(stopped?.state).not.toBe('running')
        expect(stopped?.upstream).toBeUndefined()
        // How it ended, for telling a stop from a crash: its exit code, and when, by the engine's clock.
        expect(stopped?.exitCode).toEqual(expect.any(Number))
        expect(Date.parse(stopped?.finishedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(launched.startedAt ?? '0'))
        expect((await backend.list()).find((r) => r.name === s.name)?.exitCode).toBe(stopped?.exitCode)
        await backend.stop(s.name) // stopping a stopped container is not an error
        const started = await backend.start(s.name)
        expect(started).toMatchObject({
          id: launched.id,
          state: 'running',
          idleTimeoutSeconds: 30,
          readinessPath: '/healthz',
        })
        expect(started.upstream).toMatch(/^http:\/\//)
        expect((await backend.start(s.name)).state).toBe('running') // starting a running one neither
        await expect(backend.start(options.newName())).rejects.toBeInstanceOf(ContainerNotFoundError)
      },
    )

    conform(
      'watch',
      'watch reports start and destroy of managed containers',
      backend.watch ? undefined : 'the backend reports no engine events',
      async () => {
        if (!backend.watch) return
        const events: BackendEvent[] = []
        const controller = new AbortController()
        const watching = backend.watch((event) => events.push(event), controller.signal)
        await new Promise((r) => setTimeout(r, 200))
        const s = spec()
        const launched = await backend.launch(s)
        await backend.remove(s.name)
        for (let i = 0; i < 50 && !events.some((e) => e.name === s.name && e.action === 'destroy'); i++)
          await new Promise((r) => setTimeout(r, 50))
        controller.abort()
        await watching
        const mine = events.filter((e) => e.name === s.name).map((e) => e.action)
        expect(mine).toContain('start')
        expect(mine).toContain('destroy')
        // Events are dated on the clock of `startedAt`, so a late report can be told from a current one.
        const startedAt = Date.parse(launched.startedAt ?? '')
        const startTime = events.find((e) => e.name === s.name && e.action === 'start')?.time ?? NaN
        expect(startTime).toBeGreaterThanOrEqual(startedAt)
        expect(startTime).toBeLessThan(startedAt + 10_000)
      },
    )

    it('logs of an unknown container is a ContainerNotFoundError', async () => {
      await expect(backend.logs(options.newName())).rejects.toBeInstanceOf(ContainerNotFoundError)
    })

    conform(
      'pull',
      'pull yields progress and ends with the image present',
      backend.pull ? (options.pullableImage ? undefined : 'no pullable image given') : 'the backend cannot pull',
      async () => {
        if (!backend.pull || !options.pullableImage) return
        const image = await options.pullableImage()
        const events = []
        for await (const event of await backend.pull(image)) events.push(event)
        expect(events.length).toBeGreaterThan(0)
        for (const event of events) expect(event.status).toEqual(expect.any(String))
        // Present now: a launch that must not pull succeeds.
        const record = await backend.launch(spec({ image, pull: 'never' }))
        expect(record.state).toBe('running')
      },
    )

    conform(
      'prune volumes',
      'prune volumes keeps the volumes of live containers, and a removal takes its own along',
      backend.pruneVolumes ? undefined : 'the backend keeps no volumes',
      async () => {
        if (!backend.pruneVolumes) return
        const s = spec({ extraDirectories: ['/data'] })
        await backend.launch(s)
        const before = await backend.pruneVolumes()
        expect(before).toEqual(expect.any(Array))
        expect((await backend.inspect(s.name))?.state).toBe('running')
        expect(await backend.remove(s.name)).toBe(true)
        // Nothing of the removed container is left to prune.
        expect((await backend.pruneVolumes()).filter((volume) => volume.includes(s.name))).toEqual([])
      },
    )

    conform('files', 'launch places files before the container starts', undefined, async () => {
      const content = new TextEncoder().encode('{"placed":true}')
      const record = await backend.launch(spec({ files: [{ path: '/tmp/hde/placed.json', content }] }))
      expect(record.state).toBe('running')
    })

    conform(
      'unreachable engine',
      'an unreachable engine is a BackendUnavailableError, never a hang or another error',
      options.unreachable ? undefined : 'no unreachable engine given',
      async () => {
        if (!options.unreachable) return
        const gone = options.unreachable()
        for (const call of [
          () => gone.ping(),
          () => gone.list(),
          () => gone.inspect('x'),
          () => gone.launch(spec()),
          () => gone.remove('x'),
        ]) {
          await expect(call()).rejects.toBeInstanceOf(BackendUnavailableError)
        }
        await gone.close?.()
      },
    )

    options.additionalTests?.()
  })
}
