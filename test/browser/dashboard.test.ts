import { readFile, mkdir, mkdtemp } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { tmpdir } from 'node:os'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumReady, launchChromium } from '../helpers/browser.js'
import { ECHO_IMAGE, STATIC_IMAGE, dockerCli, dockerReady, eventually, uniqueName } from '../helpers/docker.js'
import { RUNTIMES } from '../helpers/gateway-process.js'
import { useAcceptanceGateway } from '../helpers/acceptance-gateway.js'
import { registryAvailable, startRegistry, type LoopbackRegistry } from '../helpers/registry.js'

const ROOT = resolve(import.meta.dirname, '../..')
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js')
const TOKEN = 'dashboard-test-token-0123456789'

/** The README's screenshots of the dashboard, kept true by the suite that takes them. */
const SCREENSHOTS = { overview: 'docs/dashboard-overview.png', container: 'docs/dashboard-container.png' }

/** A PNG's size, from its header. */
async function pngSize(file: string): Promise<{ width: number; height: number }> {
  const header = (await readFile(file)).subarray(0, 24)
  expect(header.subarray(1, 4).toString(), file).toBe('PNG')
  return { width: header.readUInt32BE(16), height: header.readUInt32BE(20) }
}

const dockerOk = await dockerReady('the dashboard in Chromium')
const browserOk = dockerOk && (await chromiumReady('the dashboard in Chromium'))
const registryOk = browserOk && (await registryAvailable())
if (browserOk && !registryOk && process.env.CI === 'true')
  throw new Error('the dashboard in Chromium: docker-registry is required in CI (pull progress)')

/** Whether Docker has a container of this name (any state). */
async function existsInDocker(name: string): Promise<boolean> {
  return (await dockerCli('ps', '-aq', '--filter', `name=^/${name}$`)) !== ''
}

/** Launch from the form, by its labels, as a person would. */
async function launchFromForm(page: Page, fields: { image: string; name: string; port?: string; env?: string }) {
  await page.getByLabel('Image', { exact: true }).fill(fields.image)
  await page.getByLabel('Name', { exact: true }).fill(fields.name)
  if (fields.port) await page.getByLabel('Port', { exact: true }).fill(fields.port)
  if (fields.env) await page.getByLabel('Environment').fill(fields.env)
  await page.getByRole('button', { name: 'Launch' }).click()
}

/** The serious and critical accessibility violations axe-core finds on the page. */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE })
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run(): Promise<{ violations: { id: string; impact: string; help: string; nodes: unknown[] }[] }> }
      }
    ).axe
    const result = await axe.run()
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }))
  })
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes})`)
}

for (const runtime of RUNTIMES) {
  describe.runIf(browserOk)(`the dashboard without tokens, on ${runtime}`, () => {
    const fixture = useAcceptanceGateway(runtime, (socketPath) => ({ docker: { socketPath } }))
    let browser: Browser
    let context: BrowserContext
    beforeAll(async () => {
      browser = await launchChromium()
    })
    afterAll(async () => {
      await browser?.close()
    })
    const open = async (path = '/', options: { bypassCSP?: boolean } = {}) => {
      context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options })
      const page = await context.newPage()
      const errors: string[] = []
      page.on('pageerror', (err) => errors.push(err.message))
      page.on('console', (message) => {
        if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
          errors.push(message.text())
      })
      page.on('response', (response) => {
        // A 404 for the logs of a removed container is how the page learns that it is gone.
        const gone = response.status() === 404 && response.url().includes('/logs?')
        if (response.status() >= 400 && !gone)
          errors.push(`${response.status()} ${response.request().method()} ${response.url()}`)
      })
      await page.goto(`${fixture.gw.dashboardUrl}${path}`)
      return { page, errors }
    }

    it('serves on its own listener, not on the proxy’s origin', async () => {
      const dashboard = new URL(fixture.gw.dashboardUrl!)
      expect(dashboard.port).not.toBe(new URL(fixture.gw.url).port)
      const response = await fetch(`${fixture.gw.dashboardUrl}/`)
      expect(response.status).toBe(200)
      const csp = response.headers.get('content-security-policy') ?? ''
      expect(csp).toContain("frame-ancestors 'none'")
      expect(csp).toContain("script-src 'self'")
      expect(csp).not.toContain('unsafe-inline')
    })

    it('launches from the form; the row turns ready live; logs follow; stop, wake; remove takes it from Docker and the page', async () => {
      const name = uniqueName('dash')
      const { page, errors } = await open()
      try {
        await expect.poll(() => page.textContent('#live-status')).toBe('Live')
        // A marker that a reload would wipe: every change below arrives without one.
        await page.evaluate(() => ((window as unknown as { unreloaded: boolean }).unreloaded = true))
        await launchFromForm(page, { image: ECHO_IMAGE, name, port: '80', env: 'GREETING=hello' })
        await expect.poll(() => page.textContent('#launch-result'), { timeout: 30_000 }).toContain(`Launched ${name}`)
        const row = page.locator(`tr[data-name="${name}"]`)
        await row.waitFor({ timeout: 15_000 })
        await expect.poll(() => row.getAttribute('data-status'), { timeout: 30_000 }).toBe('ready')
        expect(await page.evaluate(() => (window as unknown as { unreloaded?: boolean }).unreloaded)).toBe(true)
        expect(await existsInDocker(name)).toBe(true)
        // The row's URL opens the app on the proxy's origin.
        const href = await row.getByRole('link', { name: /docker/ }).getAttribute('href')
        expect(href).toBe(`${fixture.gw.url}/docker/${name}/`)

        // Its logs, followed live: a request made now shows up without a reload.
        await row.getByRole('link', { name: /^Logs/ }).click()
        await page.waitForURL(`**/containers/${name}#logs`)
        const logs = page.locator('#log-output')
        await expect.poll(() => logs.textContent(), { timeout: 15_000 }).toContain('echo listening on :80')
        await (await fetch(`${fixture.gw.url}/docker/${name}/seen-live`)).text()
        await expect.poll(() => logs.textContent(), { timeout: 15_000 }).toContain('echo: GET /seen-live')
        // Paused, new output is held back; resumed, it appears.
        await page.getByRole('button', { name: 'Pause' }).click()
        await (await fetch(`${fixture.gw.url}/docker/${name}/while-paused`)).text()
        await new Promise((r) => setTimeout(r, 1_500))
        expect(await logs.textContent()).not.toContain('/while-paused')
        await page.getByRole('button', { name: 'Resume' }).click()
        await expect.poll(() => logs.textContent(), { timeout: 10_000 }).toContain('echo: GET /while-paused')
        // The request history, newest first.
        const history = page.locator('#history tbody tr')
        await expect.poll(() => history.first().textContent(), { timeout: 10_000 }).toContain('/while-paused')
        expect(await history.nth(1).textContent()).toContain('/seen-live')

        // Stop scales it to zero; Wake starts it again; the page follows both without a reload.
        const facts = page.locator('dl.facts')
        await page.getByRole('button', { name: 'Stop' }).click()
        await expect.poll(() => facts.getAttribute('data-status'), { timeout: 30_000 }).toBe('stopped')
        expect(await dockerCli('inspect', '--format', '{{.State.Running}}', name)).toBe('false')
        await page.getByRole('button', { name: 'Wake' }).click()
        await expect.poll(() => facts.getAttribute('data-status'), { timeout: 30_000 }).toBe('ready')
        expect(await dockerCli('inspect', '--format', '{{.State.Running}}', name)).toBe('true')

        // Remove, confirmed in the browser's dialog.
        let asked = ''
        page.once('dialog', (dialog) => {
          asked = dialog.message()
          void dialog.accept()
        })
        await page.getByRole('button', { name: 'Remove' }).click()
        await page.waitForURL(`${fixture.gw.dashboardUrl}/`)
        expect(asked).toContain(name)
        await eventually(async () => !(await existsInDocker(name)), 15_000, `${name} gone from Docker`)
        await expect.poll(() => page.locator(`tr[data-name="${name}"]`).count()).toBe(0)
        expect(errors).toEqual([])
      } finally {
        await context.close()
      }
    })

    it("shows the API's field-level errors next to the fields, and checks input JSON before sending", async () => {
      const { page } = await open()
      try {
        await launchFromForm(page, { image: ECHO_IMAGE, name: uniqueName('bad'), port: '70000' })
        await expect.poll(() => page.textContent('#launch-port-error')).toMatch(/65535/)
        expect(await page.getByLabel('Port', { exact: true }).getAttribute('aria-invalid')).toBe('true')
        // Invalid JSON never leaves the page.
        let posted = 0
        page.on('request', (request) => {
          if (request.method() === 'POST') posted++
        })
        await page.getByLabel('Port', { exact: true }).fill('80')
        await page.getByLabel('Input JSON').fill('{"not": json}')
        await page.getByRole('button', { name: 'Launch' }).click()
        await expect.poll(() => page.textContent('#launch-input-error')).toContain('Not valid JSON')
        expect(posted).toBe(0)
      } finally {
        await context.close()
      }
    })

    it('gives a private container a new access link: it opens the tool in another browser once, the old link no longer does', async () => {
      const name = uniqueName('private')
      const launched = await fixture.launchOk({ image: ECHO_IMAGE, name, access: 'token' })
      const first = new URL(launched.url as string, fixture.gw.url).href
      const { page } = await open(`/containers/${name}`)
      const visitor = await browser.newContext()
      try {
        await expect.poll(() => page.textContent('dl.facts')).toContain('through its access link')
        await page.getByRole('button', { name: 'New access link' }).click()
        const link = page.locator('#access-link')
        await link.waitFor({ timeout: 15_000 })
        const fresh = (await link.textContent()) ?? ''
        expect(fresh).toMatch(new RegExp(`^${fixture.gw.url}/docker/${name}/\\?hde_access=[0-9a-f]{64}$`))

        const tab = await visitor.newPage()
        // The link from the launch was never used; the new one replaced it.
        expect((await tab.goto(first))?.status()).toBe(403)
        // The tool may still be starting: the please-wait page retries on its own until it serves.
        await tab.goto(fresh)
        await expect.poll(() => tab.url(), { timeout: 30_000 }).toBe(`${fixture.gw.url}/docker/${name}/`)
        await expect.poll(() => tab.textContent('body'), { timeout: 30_000 }).toContain('"method":"GET"')
        // Spent: a second visitor gets nowhere with the same link.
        const again = await (await browser.newContext()).newPage()
        expect((await again.goto(fresh))?.status()).toBe(403)
        await again.context().close()
      } finally {
        await visitor.close()
        await context.close()
      }
    })

    it('has no serious accessibility violations (axe-core), overview and container page', async () => {
      const name = uniqueName('axe')
      await fixture.launchOk({ image: ECHO_IMAGE, name })
      await fixture.whenServing(name)
      // axe is injected as a script of the test's own, which the dashboard's CSP would refuse.
      const { page } = await open('/', { bypassCSP: true })
      try {
        await page.locator(`tr[data-name="${name}"]`).waitFor()
        expect(await seriousViolations(page)).toEqual([])
        await page.goto(`${fixture.gw.dashboardUrl}/containers/${name}`)
        await expect.poll(() => page.textContent('#log-output'), { timeout: 15_000 }).toContain('echo')
        expect(await seriousViolations(page)).toEqual([])
      } finally {
        await context.close()
      }
    })

    it.runIf(runtime === 'node')("takes the README's screenshots of the overview and a container's page", async () => {
      const readme = await readFile(resolve(ROOT, 'README.md'), 'utf8')
      for (const file of Object.values(SCREENSHOTS)) expect(readme).toContain(`](${file})`)
      // The documentation's images are rewritten only by `npm run screenshots`; a test run takes
      // its own and compares them with the committed ones (the same page at the same size).
      const write = process.env.HDE_SCREENSHOTS === 'write'
      const shots = write ? ROOT : await mkdtemp(join(tmpdir(), 'hde-shots-'))
      const name = uniqueName('notebook')
      await fixture.launchOk({ image: ECHO_IMAGE, name, memReservationMb: 64 })
      await fixture.whenServing(name)
      const { page } = await open()
      try {
        // Traffic for the charts: a few seconds of requests, sampled every 2 s.
        const until = Date.now() + 5_000
        while (Date.now() < until) await (await fetch(`${fixture.gw.url}/docker/${name}/tool?x=${Date.now()}`)).text()
        await expect
          .poll(async () => Number(await page.getAttribute('#chart-rps', 'data-samples')), { timeout: 10_000 })
          .toBeGreaterThan(1)
        await page.locator(`tr[data-name="${name}"][data-status="ready"]`).waitFor()
        await mkdir(resolve(ROOT, 'docs'), { recursive: true })
        await page.screenshot({ path: resolve(shots, SCREENSHOTS.overview), fullPage: true })
        await page.goto(`${fixture.gw.dashboardUrl}/containers/${name}`)
        await expect.poll(() => page.textContent('#log-output'), { timeout: 15_000 }).toContain('/tool')
        await page.screenshot({ path: resolve(shots, SCREENSHOTS.container) })
      } finally {
        await context.close()
      }
      if (write) return
      for (const file of Object.values(SCREENSHOTS)) {
        const [taken, committed] = await Promise.all([pngSize(resolve(shots, file)), pngSize(resolve(ROOT, file))])
        expect(taken.width, file).toBe(committed.width)
        // A full-page overview grows with what the machine runs; a page of its own keeps its height.
        expect(taken.height, file).toBeGreaterThan(committed.height * 0.3)
        expect(taken.height, file).toBeLessThan(committed.height * 3)
      }
    })

    describe.runIf(registryOk)('pull progress', () => {
      let registry: LoopbackRegistry
      beforeAll(async () => {
        registry = await startRegistry()
      })
      afterAll(async () => {
        await registry?.stop()
      })

      it('shows the image pull as a progress bar while the launch pulls it from a loopback registry', async () => {
        const image = await registry.push(STATIC_IMAGE, `hde/dash-static:${uniqueName('pull')}`)
        const name = uniqueName('pulled')
        const { page } = await open()
        try {
          await launchFromForm(page, { image, name, port: '80' })
          await expect.poll(() => page.textContent('#launch-result'), { timeout: 60_000 }).toContain(`Launched ${name}`)
          expect(await page.isVisible('#launch-progress')).toBe(true)
          expect(await page.getAttribute('#pull-progress', 'aria-valuetext')).toBe('100%')
          expect(await page.textContent('#pull-text')).toBe('Image pulled')
        } finally {
          await context.close()
        }
      })
    })
  })

  describe.runIf(browserOk)(`the dashboard with tokens, on ${runtime}`, () => {
    const fixture = useAcceptanceGateway(runtime, (socketPath) => ({
      docker: { socketPath },
      auth: { tokens: [TOKEN] },
    }))
    let browser: Browser
    beforeAll(async () => {
      browser = await launchChromium()
    })
    afterAll(async () => {
      await browser?.close()
    })

    /** Sign in through the form, in a fresh browser context. */
    async function signIn(context: BrowserContext): Promise<Page> {
      const page = await context.newPage()
      await page.goto(`${fixture.gw.dashboardUrl}/`)
      await page.getByLabel('API token').fill(TOKEN)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.getByRole('heading', { name: 'Containers', level: 1 }).waitFor()
      return page
    }

    it('asks for a token first; a wrong one is refused; the session cookie is HttpOnly, Strict and not the token; sign-out ends it', async () => {
      const context = await browser.newContext()
      try {
        const page = await context.newPage()
        await page.goto(`${fixture.gw.dashboardUrl}/`)
        expect(page.url()).toBe(`${fixture.gw.dashboardUrl}/sign-in`)
        expect(await page.getByLabel('Image', { exact: true }).count()).toBe(0)
        await page.getByLabel('API token').fill('not-the-token-at-all-0000')
        await page.getByRole('button', { name: 'Sign in' }).click()
        await expect.poll(() => page.getByRole('alert').textContent()).toContain('not one of the gateway')
        expect(await page.getByLabel('Image', { exact: true }).count()).toBe(0)

        await page.getByLabel('API token').fill(TOKEN)
        await page.getByRole('button', { name: 'Sign in' }).click()
        await page.getByLabel('Image', { exact: true }).waitFor()
        const cookies = await context.cookies()
        expect(cookies.length).toBeGreaterThan(0)
        for (const cookie of cookies) {
          expect(cookie.httpOnly, cookie.name).toBe(true)
          expect(cookie.sameSite, cookie.name).toBe('Strict')
          expect(cookie.value, cookie.name).not.toContain(TOKEN)
        }
        expect(await page.evaluate(() => document.cookie)).toBe('')
        const session = cookies.find((cookie) => cookie.name === 'hde_dashboard')!.value

        await page.getByRole('button', { name: 'Sign out' }).click()
        await page.waitForURL(`${fixture.gw.dashboardUrl}/sign-in`)
        expect(await page.getByLabel('Image', { exact: true }).count()).toBe(0)
        // The old session is over on the server, not just forgotten by the browser.
        const replay = await fetch(`${fixture.gw.dashboardUrl}/`, {
          headers: { cookie: `hde_dashboard=${session}` },
          redirect: 'manual',
        })
        expect(replay.status).toBe(303)
        expect(replay.headers.get('location')).toBe('/sign-in')
      } finally {
        await context.close()
      }
    })

    it("a container's page on the proxy's origin cannot use the dashboard with the visitor's session, nor see it", async () => {
      const victim = uniqueName('victim')
      const attacker = uniqueName('attacker')
      const planted = uniqueName('planted')
      const dashboard = fixture.gw.dashboardUrl!
      const page = `<!doctype html><html lang="en"><title>attack</title><pre id="out"></pre><script>
(async () => {
  const dash = ${JSON.stringify(dashboard)}, out = {}
  const attempt = async (what, path, init) => {
    try {
      const r = await fetch(dash + path, { credentials: 'include', ...init })
      out[what] = r.type === 'opaque' ? 'opaque' : r.status + ' ' + (await r.text()).slice(0, 120)
    } catch (e) { out[what] = 'blocked' }
  }
  const launch = JSON.stringify({ image: ${JSON.stringify(STATIC_IMAGE)}, name: ${JSON.stringify(planted)} })
  await attempt('launch json', '/launch', { method: 'POST', headers: { 'content-type': 'application/json' }, body: launch })
  await attempt('launch no-cors', '/launch', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: launch })
  await attempt('remove no-cors', '/containers/${victim}/remove', { method: 'POST', mode: 'no-cors' })
  await attempt('stop no-cors', '/containers/${victim}/stop', { method: 'POST', mode: 'no-cors' })
  await attempt('read the page', '/', {})
  await attempt('read events', '/events', {})
  // What the container itself was sent: the echo answers with the request's headers.
  out['cookie seen by the container'] = JSON.stringify((await (await fetch('./echo-headers')).json()).headers.cookie ?? null)
  const pre = document.getElementById('out')
  pre.textContent = JSON.stringify(out)
  pre.dataset.done = '1'
})()
</script></html>`
      for (const body of [
        { image: ECHO_IMAGE, name: victim },
        { image: ECHO_IMAGE, name: attacker, env: { PAGE_HTML: page } },
      ]) {
        const launched = await fixture.api('/api/containers', {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
        expect(launched.status, await launched.text()).toBe(201)
      }
      await eventually(async () => (await fixture.api(`/docker/${attacker}/page`)).status === 200)
      await eventually(async () => (await fixture.api(`/docker/${victim}/`)).status === 200)

      const context = await browser.newContext()
      try {
        await signIn(context)
        expect((await context.cookies()).some((cookie) => cookie.name === 'hde_dashboard')).toBe(true)
        const tab = await context.newPage()
        await tab.goto(`${fixture.gw.url}/docker/${attacker}/page`)
        await tab.waitForSelector('#out[data-done]', { timeout: 20_000 })
        const results = JSON.parse((await tab.textContent('#out')) ?? '{}') as Record<string, string>
        expect(results['launch json']).toBe('blocked')
        for (const what of ['launch no-cors', 'remove no-cors', 'stop no-cors', 'read the page', 'read events'])
          expect(results[what], what).toMatch(/^(blocked|opaque)$/)
        // The browser sent the session cookie to the proxy's port (cookies ignore ports); the proxy stripped it.
        expect(results['cookie seen by the container']).not.toContain('hde_dashboard')
        // Through Docker, not the gateway's word: nothing was launched, the victim still runs.
        expect(await existsInDocker(planted)).toBe(false)
        expect(await dockerCli('inspect', '--format', '{{.State.Running}}', victim)).toBe('true')
      } finally {
        await context.close()
      }
    })
  })
}
