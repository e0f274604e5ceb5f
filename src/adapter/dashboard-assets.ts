import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { DashboardAsset, DashboardAssets } from '../dashboard/assets.js'

const require = createRequire(import.meta.url)

/** Where each asset lives: the dashboard's own next to its code (in `src/` and in `dist/`), uPlot in its package. */
function locate(file: DashboardAsset): string {
  if (file.startsWith('uPlot.')) return require.resolve(`uplot/dist/${file}`)
  return new URL(`../dashboard/assets/${file}`, import.meta.url).pathname
}

/**
 * The dashboard's assets from the installed package, read once and kept (they are small: about
 * 60 KB in all). Node and Bun both read them with `node:fs`.
 */
export function packageAssets(): DashboardAssets {
  const cache = new Map<DashboardAsset, Promise<Uint8Array | undefined>>()
  return (file) => {
    let content = cache.get(file)
    if (!content) {
      content = readFile(locate(file)).then(
        (buffer) => new Uint8Array(buffer),
        () => undefined,
      )
      cache.set(file, content)
    }
    return content
  }
}
