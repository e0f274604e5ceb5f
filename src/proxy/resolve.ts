import type { Context } from 'hono'
import type { ContainerRecord } from '../backend.js'
import { BackendUnavailableError } from '../errors.js'
import { sleep } from '../util/sleep.js'
import { unavailable } from './answers.js'
import { checkProxyAccess } from './access-check.js'
import { hintsOf, toResponse } from '../http/answer.js'
import { pleaseWaitResponse } from '../http/please-wait.js'
import type { ProxyDeps, ProxyTarget, RunningRecord } from './types.js'
import { requestedWaitMs } from './track.js'

/** How long a held request pauses before asking an unreachable engine again. */
const ENGINE_RETRY_MS = 500

/**
 * Find the running container a proxied request goes to, or the answer to send instead.
 *
 * Access is checked first: nobody wakes or reaches a container they may not use. A container
 * the gateway scaled to zero is started (one start however many requests arrive). A client that
 * asked to be held (`Prefer: wait=N`) waits until the container is ready rather than being told
 * to retry; when readiness starts over meanwhile (the engine reported a stop or a restart), the
 * container is looked up again and waited for while the client's time lasts. The same holds
 * through engine trouble: a held request asks the engine again until its time is up.
 */
export async function resolveContainer(
  c: Context,
  target: ProxyTarget,
  deps: ProxyDeps,
): Promise<RunningRecord | Response> {
  const request = c.req.raw
  const hints = hintsOf(request)
  const { name } = target
  const { manager } = deps
  const waitMs = requestedWaitMs(request.headers, deps.maxWaitSeconds)
  const waitUntil = Date.now() + waitMs
  let checkedId: string | undefined
  for (;;) {
    try {
      let record: ContainerRecord | undefined = await manager.findRoute(name)
      // Its port stopped answering: how is it now? Exiting, or its engine going down, changes the
      // answer; so does an engine that cannot be asked (then the client waits, as for any lookup).
      if (record?.state === 'running' && manager.unreachable(record.id)) record = await manager.refreshRoute(name)
      if (record && record.id !== checkedId) {
        const refusal = await checkProxyAccess(c, record, target.prefix, manager, deps.authorize)
        if (refusal) return refusal
        checkedId = record.id
      }
      if (record && record.state !== 'running' && (await manager.isWakeable(record))) {
        const waking = manager.wake(name)
        waking.catch((err: unknown) =>
          deps.onError('wake failed', { container: name, error: String(err), requestId: target.requestId }),
        )
        if (!waitMs) return pleaseWaitResponse(request, `"${name}" is waking up`, deps.pleaseWait)
        record = await waking
      }
      if (
        record &&
        record.state !== 'running' &&
        manager.justStopped(record) &&
        waitUntil - Date.now() > ENGINE_RETRY_MS
      ) {
        // Maybe its engine going down: a held request waits to see it back (and the container woken).
        await sleep(ENGINE_RETRY_MS, request.signal)
        continue
      }
      if (record?.state === 'restarting' && waitUntil - Date.now() > ENGINE_RETRY_MS) {
        // Being placed or started (a wake in flight, Swarm placing its task, a restart policy): a
        // held request waits for it to run, joining the wake when there is one.
        const waking = manager.wakeInFlight(name)
        if (waking) await waking.catch(() => undefined)
        else await sleep(ENGINE_RETRY_MS, request.signal)
        if (request.signal.aborted) return toResponse(unavailable(hints, record, name, deps))
        continue
      }
      if (record?.state !== 'running' || !record.upstream) return toResponse(unavailable(hints, record, name, deps))
      if (manager.isReady(record.id)) return record as RunningRecord
      // Failed its readiness check, or its port stopped answering: answered as such (502 with the
      // reason), never proxied, while the gateway keeps checking.
      if (manager.readinessFailure(record.id) || manager.unreachable(record.id))
        return toResponse(unavailable(hints, record, name, deps))
      // Not known ready (e.g. restarted behind the gateway's back): probe it, so it is found ready.
      manager.probe(record)
      if (!waitMs) return record as RunningRecord
      if (await manager.whenReady(record.id, Math.max(0, waitUntil - Date.now()))) return record as RunningRecord
      if (manager.readinessFailure(record.id) || Date.now() >= waitUntil)
        return toResponse(unavailable(hints, record, name, deps))
    } catch (err) {
      if (!(err instanceof BackendUnavailableError)) throw err
      if (waitUntil - Date.now() <= ENGINE_RETRY_MS || request.signal.aborted) {
        return pleaseWaitResponse(request, 'the container engine cannot be reached', deps.pleaseWait)
      }
      await sleep(ENGINE_RETRY_MS, request.signal)
    }
  }
}
