import { appendFile, chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ContainerMeta, ContainerStore, HistoryEntry } from './store.js'

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
 * `<dir>/meta/<id>.json` (replaced atomically).
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

  const writeAtomically = async (file: string, text: string) => {
    const temp = `${file}.${process.pid}.tmp`
    await writeFile(temp, text, { mode: 0o600 })
    await rename(temp, file)
  }

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
      const kept = (await readLines(id)).slice(-maxEntries)
      await writeAtomically(file, kept.map((e) => `${JSON.stringify(e)}\n`).join(''))
      lineCounts.set(id, kept.length)
    },
    async readHistory(id, limit) {
      return (await readLines(id)).slice(-limit)
    },
    async readMeta(id) {
      try {
        return JSON.parse(await readFile(metaFile(id), 'utf8')) as ContainerMeta
      } catch {
        return {}
      }
    },
    async writeMeta(id, meta) {
      await ensureDirs()
      const current = await this.readMeta(id)
      await writeAtomically(metaFile(id), JSON.stringify({ ...current, ...meta }))
    },
    async remove(id) {
      lineCounts.delete(id)
      await rm(historyFile(id), { force: true })
      await rm(metaFile(id), { force: true })
    },
    async ids() {
      await ensureDirs()
      const names = [...(await readdir(historyDir)), ...(await readdir(metaDir))]
      return [...new Set(names.filter((n) => !n.endsWith('.tmp')).map((n) => n.replace(/\.(ndjson|json)$/, '')))]
    },
  }
}
