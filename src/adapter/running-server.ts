import { errorBody } from '../http/answer.js'

/** A running server, whatever the runtime. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  url: string
  port: number
  /**
   * Stop serving. With a grace period: stop accepting connections, close idle ones, answer new
   * requests on open ones `503 draining` with `Connection: close`, and let what is in flight
   * finish for up to `graceMs`, resolving as soon as nothing is; WebSockets still open then are
   * closed with 1001 and the remaining connections are cut. Without one, all of that at once.
   */
  close(graceMs?: number): Promise<void>
}

/** The JSON body and headers of a request refused while its server drains. */
export const DRAINING = {
  status: 503,
  body: JSON.stringify(
    errorBody('draining', 'The gateway is shutting down: send the request again (to another instance)'),
  ),
  headers: {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'retry-after': '1',
    connection: 'close',
  },
} as const

/** Whether a request path is a health probe, answered even while draining (`/api/health…`). */
export function isProbe(path: string, apiPrefix: string): boolean {
  return path.startsWith(`${apiPrefix}/health`)
}

/** Options for serving a gateway's dashboard on a listener of its own (`serveNodeDashboard`, `serveBunDashboard`). */
export interface ServeDashboardOptions {
  gateway: import('../gateway.js').Gateway
  hostname?: string
  /** 0 picks a free port (default 8001). */
  port?: number
}
