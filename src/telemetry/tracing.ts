/**
 * The gateway's spans, on the OpenTelemetry API alone. Without a registered SDK every call here
 * is a no-op (the API's default), so the core pays next to nothing when tracing is off; the CLI
 * registers one when the `OTEL_*` environment asks for it (`src/cli/tracing.ts`), and an
 * embedding app's own SDK receives these spans just the same.
 */
import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api'

/** The instrumentation scope of every span the gateway makes. */
export const TRACER_NAME = 'hono-docker-engine'

const tracer = () => trace.getTracer(TRACER_NAME)

/** Span attribute for the container a span is about (OpenTelemetry's `container.name`). */
export const CONTAINER_ATTRIBUTE = 'container.name'

/** Reads `traceparent` and `tracestate` from whatever holds a request's headers. */
const headerGetter: TextMapGetter<(name: string) => string | undefined> = {
  get: (read, key) => read(key),
  keys: () => [],
}

/** One request's server span: the parent of the work done for it, and of the container's own spans. */
export interface RequestSpan {
  /** Run the request's work in this context: the spans it starts are this span's children. */
  readonly context: Context
  /** The trace context for the container (`traceparent`, `tracestate`), with this span as parent. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** Name the route once it is known (`POST /api/containers/{name}/stop`). */
  route(route: string): void
  /** Note an attribute learnt on the way (the container's name). */
  set(key: string, value: string | number): void
  /** End the span with the status the client was answered. */
  end(status: number): void
}

/**
 * Start the server span of an incoming request, continuing the trace its client sent in
 * `traceparent` (W3C Trace Context), if any. Without a route yet, it is named by its method
 * until {@link RequestSpan.route} names it.
 */
export function startRequestSpan(
  method: string,
  route: string | undefined,
  header: (name: string) => string | undefined,
  attributes: Attributes = {},
): RequestSpan {
  const parent = propagation.extract(ROOT_CONTEXT, header, headerGetter)
  const span = tracer().startSpan(
    route ? `${method} ${route}` : method,
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': method, ...(route ? { 'http.route': route } : {}), ...attributes },
    },
    parent,
  )
  const spanContext = trace.setSpan(parent, span)
  const carrier: Record<string, string> = {}
  propagation.inject(spanContext, carrier)
  return {
    context: spanContext,
    headers: Object.entries(carrier),
    route(route) {
      span.updateName(`${method} ${route}`)
      span.setAttribute('http.route', route)
    },
    set(key, value) {
      span.setAttribute(key, value)
    },
    end(status) {
      span.setAttribute('http.response.status_code', status)
      // A server span is an error only for the server's own failures (semantic conventions).
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
      span.end()
    },
  }
}

/**
 * Run `work` inside a span named `name`, a child of the active span; the span ends when the work
 * settles, marked as an error (with the exception recorded) when it throws.
 */
export function traced<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span)
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err))
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) })
      throw err
    } finally {
      span.end()
    }
  })
}

/**
 * Start a span for something that outlives the call that begins it (a container's readiness),
 * a child of the active span. End it with {@link endSpan}.
 */
export function startSpan(name: string, attributes: Attributes): Span {
  return tracer().startSpan(name, { attributes }, context.active())
}

/** End a span started by {@link startSpan}, as an error when `failure` says why. */
export function endSpan(span: Span, failure?: string): void {
  if (failure) span.setStatus({ code: SpanStatusCode.ERROR, message: failure })
  span.end()
}

/** Run `work` with `ctx` active: spans `work` starts are children of the span in `ctx`. */
export function withContext<T>(ctx: Context, work: () => T): T {
  return context.with(ctx, work)
}
