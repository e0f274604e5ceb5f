/** A running server, whatever the runtime. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  url: string
  port: number
  close(): Promise<void>
}

/** Options for serving a gateway's dashboard on a listener of its own (`serveNodeDashboard`, `serveBunDashboard`). */
export interface ServeDashboardOptions {
  gateway: import('../gateway.js').Gateway
  hostname?: string
  /** 0 picks a free port (default 8001). */
  port?: number
}
