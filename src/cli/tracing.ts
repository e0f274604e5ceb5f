/**
 * The CLI's OpenTelemetry SDK: off unless the standard `OTEL_*` environment asks for traces, so a
 * gateway started without them loads none of it. Spans are exported in batches over OTLP/HTTP
 * (protobuf by default, or JSON) or printed (`console`).
 */
import { ConfigError } from '../errors.js'
import type { Logger } from '../logger.js'

type Env = Record<string, string | undefined>

/** What the environment asks of tracing; {@link tracingSettings} reads it. */
export interface TracingSettings {
  exporters: Array<'otlp' | 'console'>
  protocol: 'http/protobuf' | 'http/json'
  sampler: { kind: string; ratio: number }
  propagators: Array<'tracecontext' | 'baggage'>
  batch: {
    scheduledDelayMillis?: number
    exportTimeoutMillis?: number
    maxQueueSize?: number
    maxExportBatchSize?: number
  }
}

const SAMPLERS = new Set([
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
])

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)

/** A non-negative whole number from the environment, or a clear refusal naming the variable. */
function count(env: Env, name: string): number | undefined {
  const raw = env[name]?.trim()
  if (!raw) return undefined
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name}: expected a whole number, got "${raw}"`)
  return Number(raw)
}

/**
 * The tracing the environment asks for, or `undefined` for none. Traces are on when
 * `OTEL_TRACES_EXPORTER` names an exporter or an OTLP endpoint is set; `OTEL_SDK_DISABLED=true`
 * or `OTEL_TRACES_EXPORTER=none` turns them off. A value the gateway cannot honour is refused
 * at startup, naming the variable.
 */
export function tracingSettings(env: Env): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined
  const named = list(env.OTEL_TRACES_EXPORTER).map((name) => name.toLowerCase())
  if (named.includes('none')) return undefined
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT
  if (named.length === 0 && !endpoint) return undefined
  const exporters = named.length ? named : ['otlp']
  for (const name of exporters)
    if (name !== 'otlp' && name !== 'console')
      throw new ConfigError(`OTEL_TRACES_EXPORTER: "${name}" is not supported; use otlp, console or none`)
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim()
  if (protocol !== 'http/protobuf' && protocol !== 'http/json')
    throw new ConfigError(
      `OTEL_EXPORTER_OTLP_PROTOCOL: "${protocol}" is not supported; use http/protobuf or http/json (a collector's port 4318)`,
    )
  const sampler = (env.OTEL_TRACES_SAMPLER || 'parentbased_always_on').trim().toLowerCase()
  if (!SAMPLERS.has(sampler))
    throw new ConfigError(`OTEL_TRACES_SAMPLER: "${sampler}" is not supported; use one of ${[...SAMPLERS].join(', ')}`)
  const rawRatio = env.OTEL_TRACES_SAMPLER_ARG?.trim()
  const ratio = rawRatio ? Number(rawRatio) : 1
  if (sampler.endsWith('traceidratio') && !(ratio >= 0 && ratio <= 1))
    throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG: expected a ratio from 0 to 1, got "${rawRatio}"`)
  const propagators = list(env.OTEL_PROPAGATORS || 'tracecontext,baggage').filter((name) => name !== 'none')
  for (const name of propagators)
    if (name !== 'tracecontext' && name !== 'baggage')
      throw new ConfigError(`OTEL_PROPAGATORS: "${name}" is not supported; use tracecontext, baggage or none`)
  const batch = {
    scheduledDelayMillis: count(env, 'OTEL_BSP_SCHEDULE_DELAY'),
    exportTimeoutMillis: count(env, 'OTEL_BSP_EXPORT_TIMEOUT'),
    maxQueueSize: count(env, 'OTEL_BSP_MAX_QUEUE_SIZE'),
    maxExportBatchSize: count(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
  }
  return {
    exporters: exporters as TracingSettings['exporters'],
    protocol,
    sampler: { kind: sampler, ratio },
    propagators: propagators as TracingSettings['propagators'],
    batch: Object.fromEntries(Object.entries(batch).filter(([, value]) => value !== undefined)),
  }
}

/**
 * Register the OpenTelemetry SDK globally when the environment asks for traces. Resolves to a
 * function that sends the spans still queued and stops, or `undefined` when tracing is off.
 * The service is named `hono-docker-engine` unless `OTEL_SERVICE_NAME` or
 * `OTEL_RESOURCE_ATTRIBUTES` say otherwise.
 */
export async function startTracing(
  env: Env,
  logger: Logger,
  version: string,
): Promise<(() => Promise<void>) | undefined> {
  const settings = tracingSettings(env)
  if (!settings) return undefined
  const [api, sdk, core, resources, { AsyncLocalStorageContextManager }] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/context-async-hooks'),
  ])
  const exporters = await Promise.all(
    settings.exporters.map(async (name) => {
      if (name === 'console') return new sdk.ConsoleSpanExporter()
      const { OTLPTraceExporter } =
        settings.protocol === 'http/json'
          ? await import('@opentelemetry/exporter-trace-otlp-http')
          : await import('@opentelemetry/exporter-trace-otlp-proto')
      return new OTLPTraceExporter()
    }),
  )
  const { kind, ratio } = settings.sampler
  const root = kind.endsWith('always_off')
    ? new sdk.AlwaysOffSampler()
    : kind.endsWith('traceidratio')
      ? new sdk.TraceIdRatioBasedSampler(ratio)
      : new sdk.AlwaysOnSampler()
  const sampler = kind.startsWith('parentbased_') ? new sdk.ParentBasedSampler({ root }) : root
  const resource = resources
    .resourceFromAttributes({ 'service.name': 'hono-docker-engine', 'service.version': version })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
  const provider = new sdk.TracerProvider({
    resource,
    sampler,
    spanProcessors: exporters.map((exporter) => new sdk.BatchSpanProcessor({ exporter, ...settings.batch })),
  })
  // Export failures (a collector away) go to the operator log, not to stderr at random.
  api.diag.setLogger(
    {
      error: (message, ...args) => logger.warn('tracing', { message, detail: args.map(String).join(' ') }),
      warn: (message, ...args) => logger.warn('tracing', { message, detail: args.map(String).join(' ') }),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    api.DiagLogLevel.WARN,
  )
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  const propagators = settings.propagators.map((name) =>
    name === 'baggage' ? new core.W3CBaggagePropagator() : new core.W3CTraceContextPropagator(),
  )
  api.propagation.setGlobalPropagator(new core.CompositePropagator({ propagators }))
  api.trace.setGlobalTracerProvider(provider)
  logger.info('tracing on', {
    exporters: settings.exporters,
    ...(settings.exporters.includes('otlp') ? { protocol: settings.protocol } : {}),
    sampler: kind,
  })
  return () => provider.shutdown()
}
