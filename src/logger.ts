/** Where the gateway reports operator-facing events. One JSON line per event by default. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

/** A logger writing one JSON object per line to the console. */
export function consoleLogger(): Logger {
  const write = (level: string, message: string, fields?: Record<string, unknown>) => {
    const line = JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })
    if (level === 'error') console.error(line)
    else console.log(line)
  }
  return {
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  }
}

/** A logger that drops everything (tests, embedding without logs). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} }
