import type { Backend, BackendEvent, ContainerRecord, ContainerState, LaunchSpec, LogOptions } from '../backend.js'
import { BackendUnavailableError, ContainerNotFoundError, NameConflictError } from '../errors.js'

/** Options for {@link memory}. */
export interface MemoryBackendOptions {
  /**
   * Where a launched container "listens": a base URL per name, or a function of the spec.
   * Without one, containers are running but have no upstream (always "starting").
   */
  upstreams?: Record<string, string> | ((spec: LaunchSpec) => string | undefined)
}

/** The in-memory backend, with controls tests use to simulate an engine. */
export interface MemoryBackend extends Backend {
  /** The spec each container was launched with. */
  specOf(name: string): LaunchSpec | undefined
  /** Change a container's state (e.g. to `exited` with a code). */
  setState(name: string, state: ContainerState, exitCode?: number): void
  /** Append to a container's output. */
  writeLog(name: string, text: string): void
  /** Make every call fail as if the engine were unreachable (`true`) or recover (`false`). */
  setUnavailable(unavailable: boolean): void
  /** Report an engine event to watchers, as if the engine had sent it. */
  emit(event: BackendEvent): void
  /** End every open `watch` stream, as a broken engine connection would. */
  endWatches(): void
  /** Make `start` take this long (to test concurrent wakes). */
  setStartDelay(ms: number): void
  /**
   * Make `stop` answer this long after the container has exited, as an engine whose answer
   * arrives late (to test a wake while the stop is still being answered).
   */
  setStopDelay(ms: number): void
  /**
   * Restart the engine as a daemon restart without live-restore does: every running container
   * is stopped by the signal (exit code 143, or `exitCode`) before the engine starts again.
   */
  restartEngine(exitCode?: number): void
  /** Mark a stopped container as killed for lack of memory. */
  setOomKilled(name: string): void
  /** How many engine calls were made, by method. */
  readonly calls: Record<string, number>
}

interface Entry {
  record: ContainerRecord
  spec: LaunchSpec
  log: string
  /** Where it listens while running. */
  upstream: string | undefined
}

/**
 * A backend that keeps containers in a Map and routes them to URLs the caller provides.
 * For fast tests of the core; it runs nothing.
 */
export function memory(options: MemoryBackendOptions = {}): MemoryBackend {
  const entries = new Map<string, Entry>()
  const calls: Record<string, number> = {}
  let unavailable = false
  let sequence = 0
  let startDelayMs = 0
  let stopDelayMs = 0
  let engineStartedAt = new Date().toISOString()
  /** A container stops: it keeps its exit code and finish time, and loses its upstream. */
  const ended = (record: ContainerRecord, state: ContainerState, exitCode: number | undefined) => {
    record.state = state
    if (exitCode === undefined) delete record.exitCode
    else record.exitCode = exitCode
    record.finishedAt = new Date().toISOString()
    delete record.upstream
  }
  const watchers = new Set<(event: BackendEvent) => void>()
  const endings = new Set<() => void>()
  const emit = (event: BackendEvent) => {
    for (const watcher of watchers) watcher(event)
  }
  /** Report a change of this engine's own, dated now (the clock of `startedAt`). */
  const report = (action: string, id: string, name: string) => emit({ action, id, name, time: Date.now() })
  const encoder = new TextEncoder()

  const call = (method: string) => {
    calls[method] = (calls[method] ?? 0) + 1
    if (unavailable) throw new BackendUnavailableError('The in-memory engine is marked unavailable')
  }
  const upstreamFor = (spec: LaunchSpec) =>
    typeof options.upstreams === 'function' ? options.upstreams(spec) : options.upstreams?.[spec.name]
  const copy = (record: ContainerRecord): ContainerRecord => ({ ...record, labels: { ...record.labels } })
  const mustGet = (name: string) => {
    const entry = entries.get(name)
    if (!entry) throw new ContainerNotFoundError(name)
    return entry
  }

  return {
    name: 'memory',
    calls,
    async launch(spec) {
      call('launch')
      if (entries.has(spec.name)) throw new NameConflictError(spec.name)
      const upstream = upstreamFor(spec)
      const record: ContainerRecord = {
        id: `mem-${++sequence}`,
        name: spec.name,
        image: spec.image,
        state: 'running',
        createdAt: new Date().toISOString(),
        labels: { ...spec.labels },
        port: spec.port,
        memReservationMb: spec.memReservationMb,
        startedAt: new Date().toISOString(),
        ...(spec.idleTimeoutSeconds ? { idleTimeoutSeconds: spec.idleTimeoutSeconds } : {}),
        ...(spec.readinessPath ? { readinessPath: spec.readinessPath } : {}),
        ...(spec.access === 'token' ? { access: 'token' as const } : {}),
        ...(spec.stripPrefix === false ? { stripPrefix: false as const } : {}),
        ...(upstream ? { upstream } : {}),
      }
      entries.set(spec.name, { record, spec: structuredClone(spec), log: `launched ${spec.image}\n`, upstream })
      report('start', record.id, spec.name)
      return copy(record)
    },
    async inspect(name) {
      call('inspect')
      const entry = entries.get(name)
      return entry && copy(entry.record)
    },
    async list() {
      call('list')
      return [...entries.values()].map((e) => copy(e.record))
    },
    async remove(name) {
      call('remove')
      const entry = entries.get(name)
      if (!entry) return false
      entries.delete(name)
      report('destroy', entry.record.id, name)
      return true
    },
    async start(name) {
      call('start')
      const entry = mustGet(name)
      if (startDelayMs) await new Promise((r) => setTimeout(r, startDelayMs))
      if (entry.record.state !== 'running') {
        entry.record.state = 'running'
        entry.record.startedAt = new Date().toISOString()
        delete entry.record.exitCode
        delete entry.record.finishedAt
        delete entry.record.oomKilled
        if (entry.upstream) entry.record.upstream = entry.upstream
        report('start', entry.record.id, name)
      }
      return copy(entry.record)
    },
    async stop(name) {
      call('stop')
      const entry = mustGet(name)
      if (entry.record.state !== 'running') return
      ended(entry.record, 'exited', 0)
      report('die', entry.record.id, name)
      if (stopDelayMs) await new Promise((r) => setTimeout(r, stopDelayMs))
    },
    watch(onEvent, signal) {
      call('watch')
      watchers.add(onEvent)
      return new Promise<void>((resolve) => {
        const end = () => {
          watchers.delete(onEvent)
          endings.delete(end)
          resolve()
        }
        endings.add(end)
        signal.addEventListener('abort', end, { once: true })
      })
    },
    async logs(name, logOptions: LogOptions = {}) {
      call('logs')
      let text = mustGet(name).log
      if (logOptions.tail !== undefined)
        text = text
          .split('\n')
          .slice(-logOptions.tail - 1)
          .join('\n')
      return new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode(text))
          controller.close()
        },
      })
    },
    async ping() {
      call('ping')
      return { version: 'memory', startedAt: engineStartedAt, liveRestore: false, time: new Date().toISOString() }
    },
    specOf: (name) => entries.get(name)?.spec,
    setState(name, state, exitCode) {
      const { record } = mustGet(name)
      const wasRunning = record.state === 'running'
      if (state !== 'running') ended(record, state, exitCode)
      else {
        record.state = state
        delete record.exitCode
        delete record.finishedAt
        if (entries.get(name)?.upstream) record.upstream = entries.get(name)!.upstream!
      }
      // Report the change as an engine would.
      if (wasRunning && state !== 'running') report('die', record.id, name)
      if (!wasRunning && state === 'running') report('start', record.id, name)
    },
    restartEngine(exitCode = 143) {
      for (const { record } of entries.values()) {
        if (record.state !== 'running') continue
        ended(record, 'exited', exitCode)
        report('die', record.id, record.name)
      }
      for (const end of [...endings]) end()
      // The engine's next run starts after everything it stopped.
      engineStartedAt = new Date(Date.now() + 1).toISOString()
    },
    setOomKilled(name) {
      mustGet(name).record.oomKilled = true
    },
    emit,
    endWatches() {
      for (const end of [...endings]) end()
    },
    setStartDelay(ms) {
      startDelayMs = ms
    },
    setStopDelay(ms) {
      stopDelayMs = ms
    },
    writeLog(name, text) {
      mustGet(name).log += text
    },
    setUnavailable(value) {
      unavailable = value
    },
  }
}
