// The dashboard's live parts: the stream of server-rendered rows, the charts, the launch form,
// logs, history and actions. No framework, no build step; served by the gateway under its CSP.
;(() => {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? ''
  const base = meta('hde-base')
  const csrf = meta('hde-csrf')
  const byId = (id) => document.getElementById(id)
  const detailSection = document.querySelector('[data-container]')
  const containerName = detailSection?.getAttribute('data-container') ?? undefined

  /** A state-changing request: same origin, with the session's CSRF token. */
  const post = (path, body) =>
    fetch(base + path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'x-csrf-token': csrf,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })

  /** The message of an error answer, whatever its shape. */
  const messageOf = async (response) => {
    const body = await response.json().catch(() => null)
    return body?.error?.message ?? `The gateway answered ${response.status}`
  }

  // ---- The live stream ----------------------------------------------------------------------

  const setLive = (text) => {
    const status = byId('live-status')
    if (status && status.textContent !== text) status.textContent = text
  }

  /** Replace a server-rendered part, keeping keyboard focus on the control that had it. */
  const replacePart = (part, html) => {
    const target = document.querySelector(`[data-live="${part}"]`)
    if (!target) return
    const focused = document.activeElement
    const refocus =
      focused && target.contains(focused) && focused.getAttribute('data-action')
        ? `[data-action="${focused.getAttribute('data-action')}"]`
        : undefined
    target.innerHTML = html
    if (refocus) target.querySelector(refocus)?.focus()
  }

  const connect = () => {
    const query = containerName === undefined ? '' : `?container=${encodeURIComponent(containerName)}`
    const source = new EventSource(`${base}/events${query}`)
    source.onopen = () => setLive('Live')
    source.onerror = () => {
      setLive('Reconnecting…')
      // The browser retries by itself unless the answer was an error (e.g. the gateway restarted
      // and the session is gone); then try again, and let a page load sort out the sign-in.
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(() => {
          fetch(`${base}/`, { credentials: 'same-origin' })
            .then((response) => (response.redirected ? location.reload() : connect()))
            .catch(() => connect())
        }, 2000)
      }
    }
    for (const part of ['summary', 'rows', 'detail']) {
      source.addEventListener(part, (event) => replacePart(part, event.data))
    }
    source.addEventListener('traffic', (event) => charts.setAll(JSON.parse(event.data)))
    source.addEventListener('sample', (event) => charts.add(JSON.parse(event.data)))
  }

  // ---- Charts (uPlot) ------------------------------------------------------------------------

  const createCharts = () => {
    const rpsTarget = byId('chart-rps')
    const latencyTarget = byId('chart-latency')
    const none = { setAll() {}, add() {} }
    if (!rpsTarget || !latencyTarget || !window.uPlot) return none
    const data = { t: [], rps: [], p50: [], p99: [] }
    const size = (target) => ({ width: Math.max(260, target.clientWidth - 8), height: 170 })
    const options = (target, series) => ({
      ...size(target),
      scales: { x: { time: true } },
      axes: [{ stroke: '#3d4451' }, { stroke: '#3d4451' }],
      series: [{}, ...series],
    })
    const rps = new window.uPlot(
      options(rpsTarget, [{ label: 'requests/s', stroke: '#0b57d0', width: 2 }]),
      [data.t, data.rps],
      rpsTarget,
    )
    const latency = new window.uPlot(
      options(latencyTarget, [
        { label: 'p50 ms', stroke: '#146c2e', width: 2 },
        { label: 'p99 ms', stroke: '#b3261e', width: 2 },
      ]),
      [data.t, data.p50, data.p99],
      latencyTarget,
    )
    const draw = () => {
      rps.setData([data.t, data.rps])
      latency.setData([data.t, data.p50, data.p99])
      rpsTarget.dataset.samples = String(data.t.length)
      latencyTarget.dataset.samples = String(data.t.length)
    }
    const push = (sample) => {
      data.t.push(sample.t)
      data.rps.push(sample.rps)
      data.p50.push(sample.p50)
      data.p99.push(sample.p99)
      for (const series of Object.values(data)) if (series.length > 300) series.shift()
    }
    addEventListener('resize', () => {
      rps.setSize(size(rpsTarget))
      latency.setSize(size(latencyTarget))
    })
    return {
      setAll(samples) {
        for (const series of Object.values(data)) series.length = 0
        for (const sample of samples) push(sample)
        draw()
      },
      add(sample) {
        push(sample)
        draw()
      },
    }
  }
  const charts = createCharts()

  // ---- The launch form -----------------------------------------------------------------------

  /** Which form field an API issue path (`port`, `env.KEY`) belongs to. */
  const FIELD_OF = {
    image: 'launch-image',
    name: 'launch-name',
    port: 'launch-port',
    env: 'launch-env',
    cpus: 'launch-cpus',
    memReservationMb: 'launch-memory',
    access: 'launch-access',
    stripPrefix: 'launch-strip',
    input: 'launch-input',
  }

  const launchForm = byId('launch-form')

  const clearErrors = () => {
    for (const id of Object.values(FIELD_OF)) {
      byId(id)?.removeAttribute('aria-invalid')
      const error = byId(`${id}-error`)
      if (error) error.textContent = ''
    }
    byId('launch-error').textContent = ''
    byId('launch-result').textContent = ''
  }

  /** Show a message next to its field (and link them for screen readers). */
  const fieldError = (id, message) => {
    const field = byId(id)
    const error = byId(`${id}-error`)
    if (!field || !error) return false
    error.textContent = error.textContent ? `${error.textContent} ${message}` : message
    field.setAttribute('aria-invalid', 'true')
    const described = new Set((field.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean))
    described.add(`${id}-error`)
    field.setAttribute('aria-describedby', [...described].join(' '))
    return true
  }

  const focusFirstInvalid = () => launchForm.querySelector('[aria-invalid="true"]')?.focus()

  /** The launch body from the form, or `undefined` after showing what is wrong. */
  const readLaunchForm = () => {
    const value = (id) => byId(id).value.trim()
    const body = {}
    let ok = true
    const fail = (id, message) => {
      fieldError(id, message)
      ok = false
    }
    if (!value('launch-image')) fail('launch-image', 'Enter an image, e.g. debian:bookworm.')
    else body.image = value('launch-image')
    if (value('launch-name')) body.name = value('launch-name')
    for (const [id, key] of [
      ['launch-port', 'port'],
      ['launch-cpus', 'cpus'],
      ['launch-memory', 'memReservationMb'],
    ]) {
      if (!value(id)) continue
      const number = Number(value(id))
      if (Number.isFinite(number)) body[key] = number
      else fail(id, 'Enter a number.')
    }
    const envLines = byId('launch-env')
      .value.split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
    if (envLines.length) {
      body.env = {}
      envLines.forEach((line, index) => {
        const at = line.indexOf('=')
        if (at <= 0) fail('launch-env', `Line ${index + 1}: write KEY=value.`)
        else body.env[line.slice(0, at)] = line.slice(at + 1)
      })
    }
    if (value('launch-access')) body.access = value('launch-access')
    if (!byId('launch-strip').checked) body.stripPrefix = false
    if (value('launch-input')) {
      try {
        body.input = JSON.parse(value('launch-input'))
      } catch (err) {
        fail('launch-input', `Not valid JSON: ${err.message}`)
      }
    }
    return ok ? body : undefined
  }

  /** Show an API error: each issue at its field, the rest for the form. */
  const showApiError = (error) => {
    const issues = error?.issues ?? []
    let placed = 0
    for (const issue of issues) {
      const field = FIELD_OF[issue.path.split('.')[0]]
      if (field && fieldError(field, issue.message)) placed++
    }
    if (placed < issues.length || issues.length === 0)
      byId('launch-error').textContent = error?.message ?? 'Launch failed'
    focusFirstInvalid()
  }

  /** Pull progress: the mean over layers of how far each got (download, then extraction). */
  const pullProgress = () => {
    const layers = new Map()
    const bar = byId('pull-progress')
    const text = byId('pull-text')
    const box = byId('launch-progress')
    return {
      update(event) {
        box.hidden = false
        if (event.id) {
          const layer = layers.get(event.id) ?? { fraction: 0 }
          const part = event.total ? event.current / event.total : 0
          if (/^Downloading/.test(event.status)) layer.fraction = Math.max(layer.fraction, 0.8 * part)
          else if (/^Extracting/.test(event.status)) layer.fraction = Math.max(layer.fraction, 0.8 + 0.2 * part)
          else if (/^(Pull complete|Already exists)/.test(event.status)) layer.fraction = 1
          else if (/^Download complete/.test(event.status)) layer.fraction = Math.max(layer.fraction, 0.8)
          layers.set(event.id, layer)
        }
        const all = [...layers.values()]
        const percent = all.length ? (100 * all.reduce((sum, layer) => sum + layer.fraction, 0)) / all.length : 0
        bar.value = Math.round(percent)
        bar.setAttribute('aria-valuetext', `${Math.round(percent)}%`)
        text.textContent = event.id ? `${event.status} (${all.length} layers)` : event.status
      },
      finish() {
        if (box.hidden) return
        bar.value = 100
        bar.setAttribute('aria-valuetext', '100%')
        text.textContent = 'Image pulled'
      },
    }
  }

  /** Read an NDJSON answer line by line. */
  const readLines = async (response, onLine) => {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += value
      const lines = buffer.split('\n')
      buffer = lines.pop()
      for (const line of lines) if (line.trim()) onLine(JSON.parse(line))
    }
    if (buffer.trim()) onLine(JSON.parse(buffer))
  }

  launchForm?.addEventListener('submit', async (event) => {
    event.preventDefault()
    clearErrors()
    const body = readLaunchForm()
    if (!body) return focusFirstInvalid()
    const button = launchForm.querySelector('button[type="submit"]')
    button.disabled = true
    byId('launch-progress').hidden = true
    const progress = pullProgress()
    try {
      const response = await post('/launch', body)
      if (!response.ok) {
        const error = (await response.json().catch(() => null))?.error
        return showApiError(error ?? { message: `The gateway answered ${response.status}` })
      }
      await readLines(response, (line) => {
        if (line.event === 'progress') progress.update(line)
        else if (line.event === 'launched') {
          progress.finish()
          byId('launch-result').textContent = `Launched ${line.name} (${line.status}).`
        } else if (line.error) showApiError(line.error)
      })
    } catch (err) {
      byId('launch-error').textContent = `The launch did not finish: ${err.message}`
    } finally {
      button.disabled = false
    }
  })

  // ---- Per-container actions -----------------------------------------------------------------

  /** A new access link, shown as text to copy and hand over (it works once; earlier unused ones no longer do). */
  const showAccessLink = (url) => {
    const result = byId('action-result')
    if (!result) return
    const link = document.createElement('code')
    link.id = 'access-link'
    link.textContent = url
    result.replaceChildren('New access link (works once; earlier unused links no longer do): ', link)
  }

  /** The history poll of a container's page, paused while the container is being removed. */
  let historyPoll

  document.addEventListener('click', async (event) => {
    const button = event.target.closest?.('button[data-action]')
    if (!button) return
    const action = button.getAttribute('data-action')
    const name = button.getAttribute('data-name')
    const result = byId('action-result')
    if (action === 'remove' && !confirm(`Remove ${name}? Its container and volumes are deleted.`)) return
    button.disabled = true
    if (action === 'remove') historyPoll?.pause()
    let removed = false
    try {
      const response = await post(`/containers/${encodeURIComponent(name)}/${action}`)
      if (!response.ok) {
        if (result) result.textContent = await messageOf(response)
        return
      }
      if (action === 'remove') {
        removed = true
        location.assign(`${base}/`)
        return
      }
      if (action === 'access-link') {
        showAccessLink((await response.json()).url)
        return
      }
      if (result) result.textContent = action === 'stop' ? `${name} stopped.` : `${name} is starting.`
    } catch (err) {
      if (result) result.textContent = `No answer: ${err.message}`
    } finally {
      button.disabled = false
      if (action === 'remove' && !removed) historyPoll?.resume()
    }
  })

  // ---- Logs, followed live, with a pause ------------------------------------------------------

  const followLogs = async (output) => {
    const name = output.getAttribute('data-name')
    const pause = byId('logs-pause')
    const state = byId('logs-state')
    let paused = false
    let held = ''
    const append = (text) => {
      output.textContent = (output.textContent + text).slice(-200_000)
      output.scrollTop = output.scrollHeight
    }
    pause.addEventListener('click', () => {
      paused = !paused
      pause.setAttribute('aria-pressed', String(paused))
      pause.textContent = paused ? 'Resume' : 'Pause'
      state.textContent = paused ? 'Paused: new output is held' : 'Following'
      if (!paused && held) {
        append(held)
        held = ''
      }
    })
    for (;;) {
      try {
        const response = await fetch(`${base}/containers/${encodeURIComponent(name)}/logs?follow=1&tail=500`, {
          credentials: 'same-origin',
        })
        if (response.status === 404) {
          state.textContent = 'The container is gone.'
          return
        }
        if (!response.ok) state.textContent = await messageOf(response)
        else {
          output.textContent = ''
          state.textContent = paused ? 'Paused: new output is held' : 'Following'
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
          for (;;) {
            const { value, done } = await reader.read()
            if (done) break
            if (paused) held = (held + value).slice(-200_000)
            else append(value)
          }
          state.textContent = 'The log stream ended; following again…'
        }
      } catch {
        state.textContent = 'Lost the log stream; following again…'
      }
      await new Promise((resolve) => setTimeout(resolve, 2000))
    }
  }

  // ---- History, refreshed while the page is visible --------------------------------------------

  /**
   * Poll the history every 3 s. `pause()` also cancels a refresh in flight: the page pauses it
   * while it removes the container, whose history then no longer exists. A 404 ends the polling.
   */
  const followHistory = (tbody) => {
    /** The refresh in flight, `null` while paused. */
    let inFlight
    const refresh = async () => {
      if (document.hidden || inFlight !== undefined) return
      const controller = new AbortController()
      inFlight = controller
      const response = await fetch(`${base}/containers/${encodeURIComponent(containerName)}/history`, {
        credentials: 'same-origin',
        signal: controller.signal,
      }).catch(() => undefined)
      if (inFlight !== controller) return // paused meanwhile
      inFlight = undefined
      if (response?.status === 404) clearInterval(timer)
      if (response?.ok) {
        const html = await response.text()
        if (tbody.innerHTML !== html) tbody.innerHTML = html
      }
    }
    const timer = setInterval(refresh, 3000)
    return {
      pause: () => {
        inFlight?.abort()
        inFlight = null
      },
      resume: () => {
        inFlight = undefined
      },
    }
  }

  connect()
  const logOutput = byId('log-output')
  if (logOutput) void followLogs(logOutput)
  const historyTable = document.querySelector('[data-live="history"]')
  if (historyTable && containerName) historyPoll = followHistory(historyTable)
})()
