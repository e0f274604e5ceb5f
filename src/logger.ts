/** Where the gateway reports operator-facing events. One JSON line per event by default. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
  /** Fine-grained events, such as access lines; optional for custom loggers. */
  debug?(message: string, fields?: Record<string, unknown>): void
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const

/** A logger writing one JSON object per line to the console, dropping levels below `level`. */
export function consoleLogger(level: (typeof LEVELS)[number] = 'info'): Logger {
  const minimum = LEVELS.indexOf(level)
  const write = (eventLevel: (typeof LEVELS)[number], message: string, fields?: Record<string, unknown>) => {
    if (LEVELS.indexOf(eventLevel) < minimum) return
    const line = JSON.stringify({ time: new Date().toISOString(), level: eventLevel, message, ...fields })
    if (eventLevel === 'error') console.error(line)
    else console.log(line)
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  }
}

/** A logger that drops everything (tests, embedding without logs). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} }
