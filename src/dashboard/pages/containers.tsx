import type { ContainerView } from '../../api/view.js'
import type { HistoryEntry } from '../../stores/store.js'
import type { Snapshot } from '../live.js'

/** How a page turns a container into links: its public URL, and its page in the dashboard. */
export interface Links {
  /** Where visitors open it (the proxy's origin). */
  open(view: ContainerView): string
  /** Its page in the dashboard. */
  page(name: string): string
}

const STATUSES = ['starting', 'ready', 'unreachable', 'stopped', 'exited', 'failed'] as const

/** A status as words: `exited (code 1)`, `failed: <reason>`. */
function statusText(view: ContainerView): string {
  if (view.status === 'exited' && view.exitCode !== undefined) return `exited (code ${view.exitCode})`
  return view.status
}

/** A timestamp for people, with the machine-readable one beside it. */
function When(props: { iso: string }) {
  return <time datetime={props.iso}>{props.iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</time>
}

/** The body of the containers table (re-sent whole by the live stream on every change). */
export function ContainerRows(props: { containers: ContainerView[]; links: Links }) {
  if (props.containers.length === 0) {
    return (
      <tr>
        <td colspan={7} class="empty">
          No containers yet. Launch one below.
        </td>
      </tr>
    )
  }
  return (
    <>
      {props.containers.map((view) => (
        <tr data-name={view.name} data-status={view.status}>
          <th scope="row">
            <a href={props.links.page(view.name)}>{view.name}</a>
          </th>
          <td class="image">{view.image}</td>
          <td>
            <span class={`status status-${view.status}`}>{statusText(view)}</span>
            {view.reason ? <span class="reason">{view.reason}</span> : null}
          </td>
          <td>
            <When iso={view.lastActivity} />
          </td>
          <td class="number">{view.memReservationMb ? `${view.memReservationMb} MB` : '—'}</td>
          <td>
            <a href={props.links.open(view)} target="_blank" rel="noopener noreferrer">
              {props.links.open(view).replace(/^https?:\/\//, '')}
            </a>
          </td>
          <td>
            <a href={`${props.links.page(view.name)}#logs`} aria-label={`Logs of ${view.name}`}>
              Logs
            </a>
          </td>
        </tr>
      ))}
    </>
  )
}

/** Engine reachability and containers by status. */
export function Summary(props: { snapshot: Snapshot }) {
  const { engine, containers } = props.snapshot
  const counts = new Map<string, number>()
  for (const view of containers) counts.set(view.status, (counts.get(view.status) ?? 0) + 1)
  return (
    <dl class="summary">
      <div>
        <dt>Engine</dt>
        <dd>
          {engine.reachable ? (
            <span class="status status-ready">{`${engine.name} ${engine.version ?? ''} reachable`}</span>
          ) : (
            <span class="status status-failed">{`${engine.name} unreachable: ${engine.error ?? ''}`}</span>
          )}
        </dd>
      </div>
      <div>
        <dt>Containers</dt>
        <dd>
          <ul class="counts" aria-label="Containers by status">
            <li>
              <span class="count">{containers.length}</span> in all
            </li>
            {STATUSES.filter((status) => counts.has(status)).map((status) => (
              <li>
                <span class={`count status-${status}`}>{counts.get(status)}</span> {status}
              </li>
            ))}
          </ul>
        </dd>
      </div>
    </dl>
  )
}

/** One container's facts and the actions that apply to it now. */
export function Detail(props: { view: ContainerView | undefined; name: string; links: Links; canStop: boolean }) {
  const { view } = props
  if (!view) {
    return (
      <p class="gone" data-gone="1">
        {`${props.name} does not exist (any more).`} <a href={props.links.page('')}>Back to all containers</a>
      </p>
    )
  }
  const running = ['starting', 'ready', 'unreachable'].includes(view.status)
  return (
    <>
      <dl class="facts" data-status={view.status}>
        <div>
          <dt>Status</dt>
          <dd>
            <span class={`status status-${view.status}`}>{statusText(view)}</span>
            {view.reason ? <span class="reason">{view.reason}</span> : null}
          </dd>
        </div>
        <div>
          <dt>Image</dt>
          <dd>{view.image}</dd>
        </div>
        <div>
          <dt>URL</dt>
          <dd>
            <a href={props.links.open(view)} target="_blank" rel="noopener noreferrer">
              {props.links.open(view)}
            </a>
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <When iso={view.createdAt} />
          </dd>
        </div>
        <div>
          <dt>Last activity</dt>
          <dd>
            <When iso={view.lastActivity} />
          </dd>
        </div>
        <div>
          <dt>Port</dt>
          <dd>{view.port}</dd>
        </div>
        <div>
          <dt>Memory reservation</dt>
          <dd>{view.memReservationMb ? `${view.memReservationMb} MB` : 'none'}</dd>
        </div>
        <div>
          <dt>Path</dt>
          <dd>{view.stripPrefix ? 'prefix stripped' : 'full public path'}</dd>
        </div>
        <div>
          <dt>Access</dt>
          <dd>{view.access === 'token' ? 'private: through its access link' : 'public'}</dd>
        </div>
      </dl>
      <div class="actions">
        {props.canStop && running ? <ActionButton name={view.name} action="stop" label="Stop" /> : null}
        {props.canStop && view.status === 'stopped' ? (
          <ActionButton name={view.name} action="wake" label="Wake" />
        ) : null}
        {view.access === 'token' ? (
          <ActionButton name={view.name} action="access-link" label="New access link" />
        ) : null}
        <ActionButton name={view.name} action="remove" label="Remove" danger />
      </div>
    </>
  )
}

function ActionButton(props: { name: string; action: string; label: string; danger?: boolean }) {
  return (
    <button type="button" class={props.danger ? 'danger' : ''} data-action={props.action} data-name={props.name}>
      {props.label}
    </button>
  )
}

/** The most history rows a page shows (the API serves all of it). */
const HISTORY_SHOWN = 200

/** The proxied-request history, newest first. */
export function HistoryRows(props: { entries: HistoryEntry[] }) {
  if (props.entries.length === 0) {
    return (
      <tr>
        <td colspan={3} class="empty">
          No requests yet.
        </td>
      </tr>
    )
  }
  const newest = props.entries.slice(-HISTORY_SHOWN).reverse()
  return (
    <>
      {newest.map((entry) => (
        <tr>
          <td>
            <When iso={entry.time} />
          </td>
          <td>{entry.method}</td>
          <td class="path">{entry.path}</td>
        </tr>
      ))}
    </>
  )
}
