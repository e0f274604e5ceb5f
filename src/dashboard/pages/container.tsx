import type { ContainerView } from '../../api/view.js'
import type { HistoryEntry } from '../../stores/store.js'
import { Detail, HistoryRows, type Links } from './containers.js'
import { Layout, type PageFrame } from './layout.js'

/** One container: its facts and actions, its logs followed live, and its request history. */
export function ContainerPage(props: {
  frame: PageFrame
  name: string
  view: ContainerView | undefined
  history: HistoryEntry[]
  links: Links
  canStop: boolean
}) {
  const { name } = props
  return (
    <Layout frame={props.frame} title={name}>
      <p class="crumbs">
        <a href={props.links.page('')}>All containers</a>
      </p>
      <h1>{name}</h1>
      <section aria-labelledby="detail-heading" data-container={name}>
        <h2 id="detail-heading">Details</h2>
        <div data-live="detail">
          <Detail view={props.view} name={name} links={props.links} canStop={props.canStop} />
        </div>
        <p id="action-result" role="status" />
      </section>
      <section id="logs" aria-labelledby="logs-heading">
        <h2 id="logs-heading">Logs</h2>
        <div class="log-controls">
          <button type="button" id="logs-pause" aria-pressed="false">
            Pause
          </button>
          <span id="logs-state" role="status" />
        </div>
        <pre
          id="log-output"
          class="logs"
          role="log"
          aria-live="off"
          tabindex={0}
          aria-labelledby="logs-heading"
          data-name={name}
        />
      </section>
      <section aria-labelledby="history-heading">
        <h2 id="history-heading">Requests, newest first</h2>
        <div class="table-wrap">
          <table id="history">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Method</th>
                <th scope="col">Path</th>
              </tr>
            </thead>
            <tbody data-live="history">
              <HistoryRows entries={props.history} />
            </tbody>
          </table>
        </div>
      </section>
    </Layout>
  )
}
