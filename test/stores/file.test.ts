import { mkdir, mkdtemp, readdir, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fileStore } from '../../src/stores/file.js'
import { testStore } from './suite.js'

const ID = 'a'.repeat(64)
testStore('file', {
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hde-store-'))
    return { store: fileStore({ dir, maxEntries: 10 }), reopen: () => fileStore({ dir, maxEntries: 10 }) }
  },
})

const modeOf = async (path: string) => (await stat(path)).mode & 0o777

describe('file store permissions', () => {
  it('keeps input documents, secret hashes and history readable by the owner only', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'hde-store-')), 'data')
    // A data directory an older version made world-readable.
    await mkdir(join(dir, 'meta'), { recursive: true, mode: 0o755 })
    const store = fileStore({ dir })
    await store.writeMeta(ID, { input: { json: '{"secret":1}', token: 't' } })
    await store.appendHistory(ID, [{ time: new Date().toISOString(), method: 'GET', path: '/' }])
    for (const path of [dir, join(dir, 'meta'), join(dir, 'history')]) expect(await modeOf(path), path).toBe(0o700)
    const files = [
      ...(await readdir(join(dir, 'meta'))).map((f) => join(dir, 'meta', f)),
      ...(await readdir(join(dir, 'history'))).map((f) => join(dir, 'history', f)),
    ]
    expect(files).toHaveLength(2)
    for (const file of files) expect(await modeOf(file), file).toBe(0o600)
  })
})
