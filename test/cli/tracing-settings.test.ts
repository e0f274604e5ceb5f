import { describe, expect, it } from 'vitest'
import { tracingSettings } from '../../src/cli/tracing.js'

describe('what the OTEL_* environment asks of tracing', () => {
  it('is nothing without an exporter or an endpoint, or when switched off', () => {
    expect(tracingSettings({})).toBeUndefined()
    expect(tracingSettings({ OTEL_SERVICE_NAME: 'gw' })).toBeUndefined()
    expect(
      tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBeUndefined()
    expect(
      tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' }),
    ).toBeUndefined()
  })

  it('defaults to OTLP over HTTP with protobuf, parent-based always-on, W3C trace context and baggage', () => {
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toEqual({
      exporters: ['otlp'],
      protocol: 'http/protobuf',
      sampler: { kind: 'parentbased_always_on', ratio: 1 },
      propagators: ['tracecontext', 'baggage'],
      batch: {},
    })
  })

  it('reads the exporters, protocol, sampler, propagators and batching it is given', () => {
    expect(
      tracingSettings({
        OTEL_TRACES_EXPORTER: 'console,otlp',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
        OTEL_PROPAGATORS: 'tracecontext',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_BSP_MAX_QUEUE_SIZE: '4096',
      }),
    ).toEqual({
      exporters: ['console', 'otlp'],
      protocol: 'http/json',
      sampler: { kind: 'parentbased_traceidratio', ratio: 0.25 },
      propagators: ['tracecontext'],
      batch: { scheduledDelayMillis: 200, maxQueueSize: 4096 },
    })
  })

  it('refuses what it cannot honour, naming the variable', () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }
    const refusals: [Record<string, string>, RegExp][] = [
      [{ OTEL_TRACES_EXPORTER: 'zipkin' }, /^OTEL_TRACES_EXPORTER: "zipkin" is not supported/],
      [{ ...on, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /^OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported/],
      [{ ...on, OTEL_TRACES_SAMPLER: 'sometimes' }, /^OTEL_TRACES_SAMPLER: "sometimes" is not supported/],
      [
        { ...on, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' },
        /^OTEL_TRACES_SAMPLER_ARG: expected a ratio/,
      ],
      [{ ...on, OTEL_PROPAGATORS: 'b3' }, /^OTEL_PROPAGATORS: "b3" is not supported/],
      [{ ...on, OTEL_BSP_SCHEDULE_DELAY: 'soon' }, /^OTEL_BSP_SCHEDULE_DELAY: expected a whole number/],
    ]
    for (const [env, message] of refusals) expect(() => tracingSettings(env), JSON.stringify(env)).toThrow(message)
  })
})
