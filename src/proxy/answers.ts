/**
 * The proxy's own answers when a container cannot serve a request: not running yet (a
 * "please wait" page or 503), exited, failed, silent too long, or refusing connections. Every
 * path and transport maps its failures here, so they all answer alike.
 */
import type { ContainerRecord } from '../backend.js'
import {
  BackendUnavailableError,
  RequestBodyTimeoutError,
  UpstreamConnectError,
  UpstreamTimeoutError,
} from '../errors.js'
import { type Answer, errorAnswer as json, type RequestHints } from '../http/answer.js'
import { pleaseWaitAnswer } from '../http/please-wait.js'
import type { ProxyDeps } from './types.js'

function exitedAnswer(record: ContainerRecord): Answer {
  const code = record.exitCode === undefined ? '' : ` with code ${record.exitCode}`
  return json(502, 'container_exited', `Container "${record.name}" exited${code}; relaunch it to use it again`)
}

/** Answer for a container that is not (or no longer) serving. */
export function unavailable(
  request: RequestHints,
  record: ContainerRecord | undefined,
  name: string,
  deps: ProxyDeps,
): Answer {
  if (!record) {
    const phase = deps.manager.launchPhase(name)
    return pleaseWaitAnswer(
      request,
      phase ? `"${name}" ${phase}` : `no container named "${name}" is running yet`,
      deps.pleaseWait,
    )
  }
  if (record.state === 'exited' || record.state === 'dead') {
    if (!deps.manager.justStopped(record)) return exitedAnswer(record)
    return pleaseWaitAnswer(
      request,
      `"${name}" stopped a moment ago; if its engine is restarting, it starts again once the engine is back`,
      deps.pleaseWait,
    )
  }
  if (record.state === 'removing') return exitedAnswer(record)
  if (record.state === 'running') {
    const failure = deps.manager.readinessFailure(record.id)
    if (failure) return json(502, 'container_failed', `Container "${name}" is ${failure}`)
    const unreachable = deps.manager.unreachable(record.id)
    if (unreachable) return json(502, 'container_unreachable', `Container "${name}" is running, but ${unreachable}`)
    if (deps.manager.checkingPort(record.id))
      return pleaseWaitAnswer(request, `"${name}" is not answering on its port; checking it`, deps.pleaseWait)
    return pleaseWaitAnswer(request, `"${name}" is starting and not yet listening`, deps.pleaseWait)
  }
  return pleaseWaitAnswer(request, `"${name}" is ${record.state}`, deps.pleaseWait)
}

/** The error an exchange ends with when its container sends no response headers in time. */
export function headersTimeoutError(name: string, ms: number): UpstreamTimeoutError {
  return new UpstreamTimeoutError(`"${name}" did not answer within ${ms} ms`)
}

/** The error an exchange ends with when its client stops sending the request body. */
export function bodyTimeoutError(name: string, ms: number): RequestBodyTimeoutError {
  return new RequestBodyTimeoutError(`The request body to "${name}" stalled for ${ms} ms`)
}

/**
 * The answer when an exchange failed before response headers arrived: 408 for a stalled request
 * body (and the connection closes: the rest of that body is not awaited), 504 for a timeout,
 * 499 when the client left, the container's state after a refused connection, else 502.
 * Every transport maps its failures here, so all paths answer alike.
 */
export function upstreamFailure(
  request: RequestHints,
  name: string,
  err: unknown,
  clientGone: boolean,
  deps: ProxyDeps,
): Answer | Promise<Answer> {
  if (err instanceof RequestBodyTimeoutError) {
    return json(408, 'request_body_timeout', err.message, { connection: 'close' })
  }
  if (err instanceof UpstreamTimeoutError) return json(504, 'upstream_timeout', err.message)
  if (clientGone) return json(499, 'client_closed', 'The client closed the request')
  if (err instanceof UpstreamConnectError) return afterConnectFailure(request, name, deps)
  deps.onError('upstream request failed', { container: name, error: String(err) })
  return json(502, 'upstream_error', `The request to "${name}" failed before a response arrived`)
}

/** The upstream refused or dropped the connection: re-read the container to explain why. */
export async function afterConnectFailure(request: RequestHints, name: string, deps: ProxyDeps): Promise<Answer> {
  const cached = deps.manager.cachedRoute(name)
  // (One the gateway is stopping is re-read, so that the client learns that it starts again.)
  if (cached && isStarting(cached, deps) && !(await deps.manager.isStoppedByGateway(cached.id))) {
    // Not ready yet: a closed port is what starting looks like. Its readiness probe goes on, and
    // the engine's events report an exit, so clients polling a burst of new containers cost the
    // engine nothing.
    deps.manager.probe(cached)
    return unavailable(request, cached, name, deps)
  }
  let record: ContainerRecord | undefined
  try {
    record = await deps.manager.refreshRoute(name)
  } catch (err) {
    if (err instanceof BackendUnavailableError) {
      return pleaseWaitAnswer(request, 'the container engine cannot be reached', deps.pleaseWait)
    }
    throw err
  }
  if (record && record.state !== 'running' && (await deps.manager.isWakeable(record))) {
    // Scaled to zero while this request was on its way: the next one starts it again.
    return pleaseWaitAnswer(request, `"${name}" was stopped and starts again on the next request`, deps.pleaseWait)
  }
  if (record?.state === 'running') {
    // Running but refusing. Do not cache it as a stable route.
    deps.manager.forgetRoute(name)
    // It was serving: check its port now. It answers (a dropped connection, try again), or it is unreachable.
    if (await deps.manager.recheck(record))
      return pleaseWaitAnswer(request, `"${name}" dropped the connection; try again`, deps.pleaseWait)
    // Still starting (or failed): its readiness probe goes on.
    deps.manager.probe(record)
  }
  return unavailable(request, record, name, deps)
}

/** A running container the gateway has not yet seen ready, and that has not failed or gone quiet. */
function isStarting(record: ContainerRecord, deps: ProxyDeps): boolean {
  const { manager } = deps
  return (
    record.state === 'running' &&
    !manager.isReady(record.id) &&
    !manager.readinessFailure(record.id) &&
    !manager.unreachable(record.id) &&
    manager.reportsEngineEvents
  )
}
