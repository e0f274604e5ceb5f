import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, chromiumReady } from '../helpers/browser.js'
import { ECHO_IMAGE, STATIC_IMAGE, dockerCli, dockerReady, eventually, uniqueName } from '../helpers/docker.js'
import { RUNTIMES, type Runtime } from '../helpers/gateway-process.js'
import { useAcceptanceGateway } from '../helpers/acceptance-gateway.js'

/**
 * A page a container serves to its visitors. On load, its script tries to use the gateway's API
 * through the visitor's browser (cookies included), then writes what each attempt got into `#out`.
 * Query: `api` (the API base to attack), `victim` (a container to read and remove), `planted` (a
 * name to launch under).
 */
const ATTACK_PAGE = `<!doctype html><html lang="en"><title>attack</title><pre id="out"></pre><script>
(async () => {
  const q = new URLSearchParams(location.search)
  const apis = q.getAll('api'), victim = q.get('victim'), planted = q.get('planted')
  const launch = JSON.stringify({ image: '${STATIC_IMAGE}', name: planted })
  const out = {}
  const attempt = async (what, path, init = {}) => {
    for (const api of apis) {
      try {
        const r = await fetch(api + path, { credentials: 'include', ...init })
        out[what + ' ' + api] = r.type === 'opaque' ? 'opaque' : r.status + ' ' + (await r.text()).slice(0, 200)
      } catch (e) { out[what + ' ' + api] = 'blocked' }
    }
  }
  const json = { 'content-type': 'application/json' }
  await attempt('launch', '/containers', { method: 'POST', headers: json, body: launch })
  await attempt('launch text/plain', '/containers', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: launch })
  await attempt('launch no-cors', '/containers', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: launch })
  await attempt('list', '/containers')
  await attempt('logs', '/containers/' + victim + '/logs')
  await attempt('purge', '/purge', { method: 'POST', headers: json, body: '{"inactiveSeconds":0}' })
  await attempt('purge text/plain', '/purge', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"inactiveSeconds":0}' })
  await attempt('stop', '/containers/' + victim + '/stop', { method: 'POST' })
  await attempt('stop no-cors', '/containers/' + victim + '/stop', { method: 'POST', mode: 'no-cors' })
  await attempt('wake no-cors', '/containers/' + victim + '/wake', { method: 'POST', mode: 'no-cors' })
  await attempt('access-link no-cors', '/containers/' + victim + '/access-link', { method: 'POST', mode: 'no-cors' })
  await attempt('remove', '/containers/' + victim, { method: 'DELETE' })
  const pre = document.getElementById('out')
  pre.textContent = JSON.stringify(out)
  pre.dataset.done = '1'
})()
</script></html>`

const dockerOk = await dockerReady('same-origin safety in Chromium')
const browserOk = dockerOk && (await chromiumReady('same-origin safety in Chromium'))

for (const runtime of RUNTIMES) sameOriginSuite(runtime)

function sameOriginSuite(runtime: Runtime) {
  describe.runIf(browserOk)(`a container's page cannot use the API through a visitor's browser, on ${runtime}`, () => {
    const fixture = useAcceptanceGateway(runtime, (socketPath) => ({
      docker: { socketPath },
      hostSuffix: '.docker.localhost',
    }))
    let browser: Browser
    let attacker: string
    let victim: string
    beforeAll(async () => {
      browser = await launchChromium()
      attacker = uniqueName('attacker')
      victim = uniqueName('victim')
      await fixture.launchOk({ image: ECHO_IMAGE, name: attacker, env: { PAGE_HTML: ATTACK_PAGE } })
      await fixture.launchOk({ image: ECHO_IMAGE, name: victim })
      await fixture.whenServing(attacker, '/page')
      await fixture.whenServing(victim)
    })
    afterAll(async () => {
      await browser?.close()
    })

    /** Open the attacker's page at `pageUrl` and return what each attempt got. */
    async function runAttack(pageUrl: string): Promise<Record<string, string>> {
      const context = await browser.newContext()
      try {
        const page = await context.newPage()
        await page.goto(pageUrl)
        await page.waitForSelector('#out[data-done]', { timeout: 20_000 })
        return JSON.parse((await page.textContent('#out')) ?? '{}') as Record<string, string>
      } finally {
        await context.close()
      }
    }

    /** Through Docker itself, not the gateway's say-so: nothing was launched, the victim still runs. */
    async function expectNothingActedOn(planted: string) {
      expect(await dockerCli('ps', '-aq', '--filter', `name=${planted}`)).toBe('')
      expect(await dockerCli('inspect', '--format', '{{.State.Running}}', victim)).toBe('true')
    }

    it("under path routing, on the API's own origin, every attempt is refused with 403 and acts on nothing", async () => {
      const planted = uniqueName('planted')
      const base = fixture.gw.url
      const results = await runAttack(`${base}/docker/${attacker}/page?api=/api&victim=${victim}&planted=${planted}`)
      expect(Object.keys(results)).toHaveLength(12)
      for (const [what, got] of Object.entries(results)) {
        expect(got, what).toMatch(/^403 /)
        expect(got, what).toContain('api_browser_refused')
      }
      await expectNothingActedOn(planted)
      // A plain loopback client (no Origin, no Sec-Fetch-Site) still lists without a token.
      const list = (await (await fixture.api('/api/containers')).json()) as { containers: { name: string }[] }
      expect(list.containers.map((c) => c.name)).toEqual(expect.arrayContaining([attacker, victim]))
    })

    it("cannot wipe the dashboard's or another container's cookies with Clear-Site-Data, by path or by host", async () => {
      const port = new URL(fixture.gw.url).port
      const privateName = uniqueName('private')
      const launched = await fixture.launchOk({ image: ECHO_IMAGE, name: privateName, access: 'token' })
      await fixture.whenServing(attacker, '/with-header')
      // Its link is spent by the first visit, so open it only once the container is ready.
      await eventually(
        async () => {
          const res = await fixture.api(`/api/containers/${privateName}`)
          return ((await res.json()) as { status?: string }).status === 'ready'
        },
        20_000,
        `${privateName} to be ready`,
      )
      const context = await browser.newContext()
      try {
        // The dashboard's session: a cookie of the same host on another port (cookies ignore ports).
        await context.addCookies([
          {
            name: 'hde_dashboard',
            value: 'a'.repeat(64),
            domain: '127.0.0.1',
            path: '/',
            httpOnly: true,
            sameSite: 'Strict',
          },
        ])
        const page = await context.newPage()
        const opened = await page.goto(`${fixture.gw.url}${launched.url}`)
        expect(opened?.status()).toBe(200)
        const names = async () => (await context.cookies()).map((cookie) => cookie.name).sort()
        const before = await names()
        expect(before).toEqual([`hde_access_${privateName}`, 'hde_dashboard'].sort())
        const wipe = '/with-header?name=Clear-Site-Data&value=%22cookies%22%2C%20%22storage%22'
        for (const url of [
          `${fixture.gw.url}/docker/${attacker}${wipe}`,
          `${fixture.gw.url}/docker/${attacker}${wipe}&routed=%2e`,
          `http://${attacker}.docker.localhost:${port}${wipe}`,
        ]) {
          const answer = await page.goto(url)
          expect(answer?.status(), url).toBe(200)
          expect(await answer?.headerValue('clear-site-data'), url).toBeNull()
          expect(await names(), url).toEqual(before)
        }
        // The private container still lets its visitor in.
        expect((await page.goto(`${fixture.gw.url}/docker/${privateName}/`))?.status()).toBe(200)
      } finally {
        await context.close()
      }
    })

    it('under hostname routing, the page on its own origin gets nothing from the API origin, text/plain included', async () => {
      const planted = uniqueName('planted')
      const port = new URL(fixture.gw.url).port
      const apis = [`http://127.0.0.1:${port}/api`, `http://localhost:${port}/api`]
      const query = `${apis.map((a) => `api=${encodeURIComponent(a)}`).join('&')}&victim=${victim}&planted=${planted}`
      const results = await runAttack(`http://${attacker}.docker.localhost:${port}/page?${query}`)
      expect(Object.keys(results)).toHaveLength(24)
      // Readable answers would be a leak; the browser blocks or hides every one.
      for (const [what, got] of Object.entries(results)) expect(got, what).toMatch(/^(blocked|opaque)$/)
      await expectNothingActedOn(planted)
    })
  })
}
