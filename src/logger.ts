/** Where the gateway reports operator-facing events. One JSON line per event by default. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
  /** Fine-grained events, such as access lines; optional for custom loggers. */
  debug?(message: string, fields?: Record<string, unknown>): void
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const

/** A log level. */
export type LogLevel = (typeof LEVELS)[number]

/** Options for {@link consoleLogger}. */
export interface ConsoleLoggerOptions {
  /** `json` (default): one object per line. `pretty`: time, level, message and `key=value` fields. */
  format?: 'json' | 'pretty'
  /** Colour the level of pretty lines (ANSI). */
  color?: boolean
}

const COLORS: Record<LogLevel, string> = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' }

/** A field's value in a pretty line: bare when it reads unambiguously, else as JSON. */
function prettyValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)
  return JSON.stringify(value) ?? String(value)
}

/** One event as a readable line: `12:00:01.250 INFO  launched name=x image=y`. */
function prettyLine(level: LogLevel, message: string, fields: Record<string, unknown> | undefined, color: boolean) {
  const time = new Date().toISOString().slice(11, 23)
  const label = level.toUpperCase().padEnd(5)
  const pairs = Object.entries(fields ?? {})
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${prettyValue(value)}`)
  return [time, color ? `${COLORS[level]}${label}\x1b[0m` : label, message, ...pairs].join(' ')
}

/** A logger writing each event to the console (errors to stderr), dropping levels below `level`. */
export function consoleLogger(level: LogLevel = 'info', options: ConsoleLoggerOptions = {}): Logger {
  const minimum = LEVELS.indexOf(level)
  const write = (eventLevel: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (LEVELS.indexOf(eventLevel) < minimum) return
    const line =
      options.format === 'pretty'
        ? prettyLine(eventLevel, message, fields, options.color ?? false)
        : JSON.stringify({ time: new Date().toISOString(), level: eventLevel, message, ...fields })
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
