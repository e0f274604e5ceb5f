import { appendFile, chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { KeyedQueue } from '../util/keyed-queue.js'
import { randomToken } from '../util/secrets.js'
import { localLeases } from './local-leases.js'
import {
  type ContainerMeta,
  type ContainerStore,
  type EngineRunRecord,
  type HistoryEntry,
  localSessions,
  mergeActivity,
  type StoredSession,
} from './store.js'

/** Options for {@link fileStore}. */
export interface FileStoreOptions {
  /** The data directory; created when missing. */
  dir: string
  /** History entries kept per container. */
  maxEntries?: number
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

/**
 * A {@link ContainerStore} on the local filesystem: `<dir>/history/<id>.ndjson` (one JSON entry
 * per line, appended; compacted to the newest `maxEntries` once it holds twice that, or replaced
 * by a batch that holds that many by itself) and
 * `<dir>/meta/<id>.json` (replaced atomically; updates of one id run one at a time, so none is
 * lost), `<dir>/engine-run.json` (the engine run last seen), `<dir>/activity.json` (last
 * activity by id), `<dir>/sessions.json` (signed-in dashboard sessions) and `<dir>/secrets/<name>`.
 * Everything is readable by the owner only. Meant for one gateway process per directory: leases
 * are held in memory; replicas share a Redis store instead.
 */
export function fileStore(options: FileStoreOptions): ContainerStore {
  const maxEntries = options.maxEntries ?? 1_000
  const historyDir = join(options.dir, 'history')
  const metaDir = join(options.dir, 'meta')
  const lineCounts = new Map<string, number>()
  let ready: Promise<unknown> | undefined
  // Input documents and secret hashes live here: the owner only (directories made by an older
  // version are tightened too, which also shields files they hold).
  const privateDir = async (dir: string) => {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await chmod(dir, 0o700)
  }
  const ensureDirs = () =>
    (ready ??= privateDir(options.dir).then(() => Promise.all([privateDir(historyDir), privateDir(metaDir)])))
  const checked = (id: string) => {
    if (!SAFE_ID.test(id)) throw new Error(`Invalid container id for the store: ${JSON.stringify(id)}`)
    return id
  }
  const historyFile = (id: string) => join(historyDir, `${checked(id)}.ndjson`)
  const metaFile = (id: string) => join(metaDir, `${checked(id)}.json`)

  const readLines = async (id: string): Promise<HistoryEntry[]> => {
    let text: string
    try {
      text = await readFile(historyFile(id), 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    const entries: HistoryEntry[] = []
    for (const line of text.split('\n')) {
      if (!line) continue
      try {
        entries.push(JSON.parse(line) as HistoryEntry)
      } catch {
        // A torn last line after a crash: skip it.
      }
    }
    return entries
  }

  // Every write gets a temporary file of its own: two writes sharing one would rename each
  // other's file away (ENOENT) or publish a half-written one.
  let writes = 0
  const writeAtomically = async (file: string, text: string) => {
    const temp = `${file}.${process.pid}.${++writes}.tmp`
    try {
      await writeFile(temp, text, { mode: 0o600 })
      await rename(temp, file)
    } catch (err) {
      await rm(temp, { force: true })
      throw err
    }
  }

  const readMeta = async (id: string): Promise<ContainerMeta> => {
    try {
      return JSON.parse(await readFile(metaFile(id), 'utf8')) as ContainerMeta
    } catch {
      return {}
    }
  }
  /** Updates of one id run one after another, so none is lost. */
  const metaUpdates = new KeyedQueue()
  const updateMeta = (id: string, change: (current: ContainerMeta) => ContainerMeta): Promise<ContainerMeta> => {
    checked(id)
    return metaUpdates.run(id, async () => {
      await ensureDirs()
      const current = await readMeta(id)
      const next = change(current)
      // A change that decided to change nothing (a link already spent) writes nothing.
      if (next !== current) await writeAtomically(metaFile(id), JSON.stringify(next))
      return next
    })
  }
  /** Reads a JSON file of this store, or `undefined` when it is missing or torn. */
  const readJson = async <T>(file: string): Promise<T | undefined> => {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as T
    } catch {
      return undefined
    }
  }
  // Whole-file state (activity, sessions) is loaded once, then written through, one write at a time.
  const wholeFileWrites = new KeyedQueue()
  const activityFile = join(options.dir, 'activity.json')
  let activity: Promise<Map<string, number>> | undefined
  const loadActivity = () =>
    (activity ??= readJson<Record<string, number>>(activityFile).then(
      (saved) => new Map(Object.entries(saved ?? {}).filter(([, at]) => Number.isFinite(at))),
    ))
  const saveActivity = () =>
    wholeFileWrites.run('activity', async () => {
      await ensureDirs()
      await writeAtomically(activityFile, JSON.stringify(Object.fromEntries(await loadActivity())))
    })
  const sessionsFile = join(options.dir, 'sessions.json')
  let sessions: Promise<ReturnType<typeof localSessions>> | undefined
  const loadSessions = () =>
    (sessions ??= readJson<Record<string, StoredSession>>(sessionsFile).then((saved) => {
      const kept = localSessions()
      for (const [id, session] of Object.entries(saved ?? {})) if (session.expires > Date.now()) kept.put(id, session)
      return kept
    }))
  const saveSessions = () =>
    wholeFileWrites.run('sessions', async () => {
      await ensureDirs()
      const kept = await loadSessions()
      await writeAtomically(sessionsFile, JSON.stringify(Object.fromEntries(kept.entries)))
    })
  const secretsDir = join(options.dir, 'secrets')
  const leases = localLeases()
  const engineRunFile = join(options.dir, 'engine-run.json')

  return {
    async appendHistory(id, entries) {
      if (entries.length === 0) return
      await ensureDirs()
      const file = historyFile(id)
      if (entries.length >= maxEntries) {
        // A batch that fills the history by itself (a busy container) replaces the file.
        const kept = entries.slice(-maxEntries)
        await writeAtomically(file, kept.map((e) => `${JSON.stringify(e)}\n`).join(''))
        lineCounts.set(id, kept.length)
        return
      }
      await appendFile(file, entries.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 })
      const count = (lineCounts.get(id) ?? (await readLines(id)).length - entries.length) + entries.length
      if (count <= 2 * maxEntries) {
        lineCounts.set(id, count)
        return
      }
      // Kept as the lines they are, without parsing them: this runs several times a second on a busy
      // container. A torn line a crash left is kept as text, and skipped when read.
      const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean)
      const kept = lines.slice(-maxEntries)
      await writeAtomically(file, `${kept.join('\n')}\n`)
      lineCounts.set(id, kept.length)
    },
    async readHistory(id, limit) {
      return (await readLines(id)).slice(-limit)
    },
    readMeta,
    async writeMeta(id, meta) {
      await updateMeta(id, (current) => ({ ...current, ...meta }))
    },
    updateMeta,
    async remove(id) {
      lineCounts.delete(id)
      await rm(historyFile(id), { force: true })
      // After any update in progress, which would otherwise write the file back.
      await metaUpdates.idle(id)
      await rm(metaFile(id), { force: true })
      if ((await loadActivity()).delete(id)) await saveActivity()
    },
    async ids() {
      await ensureDirs()
      const names = [...(await readdir(historyDir)), ...(await readdir(metaDir))]
      const stored = names.filter((n) => !n.endsWith('.tmp')).map((n) => n.replace(/\.(ndjson|json)$/, ''))
      return [...new Set([...stored, ...(await loadActivity()).keys()])]
    },
    async readEngineRun() {
      try {
        const run = JSON.parse(await readFile(engineRunFile, 'utf8')) as Partial<EngineRunRecord>
        return Number.isFinite(run.startedAt) && Number.isFinite(run.seenAt) ? (run as EngineRunRecord) : undefined
      } catch {
        return undefined
      }
    },
    async writeEngineRun(run) {
      await ensureDirs()
      await writeAtomically(engineRunFile, JSON.stringify({ startedAt: run.startedAt, seenAt: run.seenAt }))
    },
    async writeActivity(times) {
      if (times.size === 0) return
      mergeActivity(await loadActivity(), times)
      await saveActivity()
    },
    async readActivity() {
      return new Map(await loadActivity())
    },
    async putSession(id, session) {
      ;(await loadSessions()).put(id, session)
      await saveSessions()
    },
    async getSession(id) {
      return (await loadSessions()).get(id)
    },
    async deleteSession(id) {
      if ((await loadSessions()).delete(id)) await saveSessions()
    },
    secret(name) {
      checked(name)
      const file = join(secretsDir, name)
      // One at a time, so that nobody reads a secret still being written.
      return wholeFileWrites.run(`secret:${name}`, async () => {
        await ensureDirs()
        await privateDir(secretsDir)
        try {
          // Made once: the first writer wins, everyone reads its value.
          await writeFile(file, randomToken(), { mode: 0o600, flag: 'wx' })
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        }
        return (await readFile(file, 'utf8')).trim()
      })
    },
    async lease(name, holder, ttlMs) {
      return leases.lease(name, holder, ttlMs)
    },
    async releaseLease(name, holder) {
      leases.release(name, holder)
    },
  }
}
