import type { Snapshot } from '../live.js'
import { ContainerRows, type Links, Summary } from './containers.js'
import { Layout, type PageFrame } from './layout.js'

/** A launch form field with its label and the place its error is shown. */
function Field(props: { id: string; label: string; hint?: string; children: unknown }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint ? (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      <p class="field-error" id={`${props.id}-error`} />
    </div>
  )
}

/** The overview: the engine, containers by status, traffic charts, the live table and the launch form. */
export function OverviewPage(props: { frame: PageFrame; snapshot: Snapshot; links: Links; pullNote: string }) {
  return (
    <Layout frame={props.frame} title="Containers">
      <h1>Containers</h1>
      <section aria-labelledby="overview-heading">
        <h2 id="overview-heading">Overview</h2>
        <div id="summary" data-live="summary">
          <Summary snapshot={props.snapshot} />
        </div>
        <div class="charts">
          <figure>
            <figcaption id="rps-caption">Requests per second</figcaption>
            <div id="chart-rps" class="chart" role="img" aria-labelledby="rps-caption" />
          </figure>
          <figure>
            <figcaption id="latency-caption">Response time, p50 and p99 (ms)</figcaption>
            <div id="chart-latency" class="chart" role="img" aria-labelledby="latency-caption" />
          </figure>
        </div>
      </section>
      <section aria-labelledby="containers-heading">
        <h2 id="containers-heading">All containers</h2>
        <div class="table-wrap">
          <table id="containers">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Image</th>
                <th scope="col">Status</th>
                <th scope="col">Last activity</th>
                <th scope="col">Memory reservation</th>
                <th scope="col">URL</th>
                <th scope="col">
                  <span class="sr-only">Logs</span>
                </th>
              </tr>
            </thead>
            <tbody data-live="rows">
              <ContainerRows containers={props.snapshot.containers} links={props.links} />
            </tbody>
          </table>
        </div>
      </section>
      <section aria-labelledby="launch-heading">
        <h2 id="launch-heading">Launch a container</h2>
        <form id="launch-form" class="launch" novalidate>
          <Field id="launch-image" label="Image" hint={props.pullNote}>
            <input id="launch-image" name="image" required autocomplete="off" aria-describedby="launch-image-hint" />
          </Field>
          <Field id="launch-name" label="Name" hint="Optional; generated when empty.">
            <input id="launch-name" name="name" autocomplete="off" aria-describedby="launch-name-hint" />
          </Field>
          <Field id="launch-port" label="Port" hint="The HTTP port the app listens on.">
            <input
              id="launch-port"
              name="port"
              type="number"
              min="1"
              max="65535"
              inputmode="numeric"
              aria-describedby="launch-port-hint"
            />
          </Field>
          <Field id="launch-env" label="Environment" hint="One KEY=value per line.">
            <textarea id="launch-env" name="env" rows={3} aria-describedby="launch-env-hint" />
          </Field>
          <Field id="launch-cpus" label="CPUs">
            <input id="launch-cpus" name="cpus" type="number" min="0.01" step="0.01" />
          </Field>
          <Field id="launch-memory" label="Memory reservation (MB)">
            <input id="launch-memory" name="memReservationMb" type="number" min="0" step="1" />
          </Field>
          <Field id="launch-access" label="Access">
            <select id="launch-access" name="access">
              <option value="">Gateway default</option>
              <option value="public">Public</option>
              <option value="token">Private access link</option>
            </select>
          </Field>
          <div class="field checkbox">
            <input id="launch-strip" name="stripPrefix" type="checkbox" checked />
            <label for="launch-strip">Strip the /docker/&lt;name&gt; prefix</label>
            <p class="field-error" id="launch-strip-error" />
          </div>
          <Field id="launch-input" label="Input JSON" hint="Optional; delivered to the container as INPUT_JSON.">
            <textarea id="launch-input" name="input" rows={3} aria-describedby="launch-input-hint" />
          </Field>
          <div class="submit">
            <button type="submit">Launch</button>
          </div>
          <div id="launch-progress" class="progress" hidden>
            <label for="pull-progress">Pulling the image</label>
            <progress id="pull-progress" max="100" value="0" />
            <span id="pull-text" aria-live="polite" />
          </div>
          <p id="launch-result" role="status" />
          <p id="launch-error" class="form-error" role="alert" />
        </form>
      </section>
    </Layout>
  )
}
