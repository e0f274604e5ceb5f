/** A running server, whatever the runtime. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  url: string
  port: number
  close(): Promise<void>
}
