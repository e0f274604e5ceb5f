/**
 * Reads one of the dashboard's files by name (see {@link DASHBOARD_ASSETS}); `undefined` when it
 * cannot. Supplied by the runtime entries (`createNodeGateway`, `createBunGateway`), which read
 * them from the package: the core reads no files, and every asset is served by the gateway itself.
 */
export type DashboardAssets = (file: DashboardAsset) => Promise<Uint8Array | undefined>

/** The dashboard's own script and styles, and uPlot (from its npm package) for the charts. */
export const DASHBOARD_ASSETS = {
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'uPlot.iife.min.js': 'text/javascript; charset=utf-8',
  'uPlot.min.css': 'text/css; charset=utf-8',
} as const

/** The name of one dashboard asset. */
export type DashboardAsset = keyof typeof DASHBOARD_ASSETS

/** Whether `name` is one of the dashboard's assets. */
export function isDashboardAsset(name: string): name is DashboardAsset {
  return Object.hasOwn(DASHBOARD_ASSETS, name)
}
