import { posix } from 'node:path'
import tar from 'tar-stream'
import { statusOf } from './errors.js'

/** The part of a Docker container object that file upload needs. */
export interface ArchiveTarget {
  putArchive(file: NodeJS.ReadableStream, options: { path: string; abortSignal?: AbortSignal }): Promise<unknown>
}

/** A tar stream of files and directories (dockerode reads a string as a file *path*, so always a stream). */
function tarOf(entries: { name: string; content?: Uint8Array }[]): NodeJS.ReadableStream {
  const pack = tar.pack()
  for (const entry of entries) {
    if (entry.content) pack.entry({ name: entry.name, mode: 0o644 }, Buffer.from(entry.content))
    else pack.entry({ name: entry.name, type: 'directory', mode: 0o755 })
  }
  pack.finalize()
  return pack
}

/**
 * Write files into a created, not yet started container through the Engine's archive API —
 * no bind mount, so it works with a remote engine too. A directory the image lacks is created.
 * Errors are the engine's (the caller maps them).
 */
export async function putFiles(
  container: ArchiveTarget,
  files: { path: string; content: Uint8Array }[],
  signal: () => AbortSignal,
): Promise<void> {
  for (const file of files) {
    const parts = posix.dirname(file.path).split('/').filter(Boolean)
    // Upload at the deepest directory that exists, creating only the missing ones below it,
    // so existing directories (like /tmp with its sticky bit) keep their modes.
    for (let depth = parts.length; depth >= 0; depth--) {
      const missing = parts.slice(depth)
      const entries = [
        ...missing.map((_, i) => ({ name: `${missing.slice(0, i + 1).join('/')}/` })),
        { name: [...missing, posix.basename(file.path)].join('/'), content: file.content },
      ]
      try {
        await container.putArchive(tarOf(entries), {
          path: `/${parts.slice(0, depth).join('/')}`,
          abortSignal: signal(),
        })
        break
      } catch (err) {
        if (statusOf(err) !== 404 || depth === 0) throw err
      }
    }
  }
}
