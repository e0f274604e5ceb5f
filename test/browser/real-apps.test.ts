import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumReady, launchChromium } from '../helpers/browser.js'
import { APPS_IMAGE, appsImageReady, dockerReady, uniqueName } from '../helpers/docker.js'
import { RUNTIMES, type Runtime } from '../helpers/gateway-process.js'
import { useAcceptanceGateway } from '../helpers/acceptance-gateway.js'

/**
 * Real third-party apps from Debian's packages, used through the gateway in Chromium as a person
 * would: Jupyter Notebook under its path prefix and at the root of its own host, a Shiny app, and
 * a large file with Range requests. This is the README's recipes, run.
 */
const suite = 'real applications in Chromium'

/** The launch bodies of the README's "Real applications" recipes, in order: what this suite launches. */
function readmeRecipes(): Record<string, unknown>[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('\n## Real applications\n'), readme.indexOf('\n## Lifecycle\n'))
  return [...section.matchAll(/ -d '(\{.*\})'$/gm)].map((match) => JSON.parse(match[1]!) as Record<string, unknown>)
}
const [jupyterAtPrefix, jupyterAtRoot, shiny] = readmeRecipes()

it("the README's recipes are the launches this suite makes", () => {
  expect(readmeRecipes()).toHaveLength(3)
  expect(jupyterAtPrefix).toMatchObject({ image: APPS_IMAGE, stripPrefix: false })
  expect(JSON.stringify(jupyterAtPrefix?.cmd)).toContain('--NotebookApp.base_url=$PUBLIC_PREFIX')
  expect(JSON.stringify(jupyterAtRoot?.cmd)).toContain('--NotebookApp.base_url=/')
  expect(JSON.stringify(shiny?.cmd)).toContain('shiny::runApp')
})
const ready = (await dockerReady(suite)) && (await chromiumReady(suite)) && (await appsImageReady(suite))

for (const runtime of RUNTIMES) realApps(runtime)

/**
 * Notebook 6 always asks for the ipywidgets extension and carries on without it ("Widgets are not
 * available"); Debian installs it only with python3-ipywidgets. Jupyter's own 404, with or without a proxy.
 */
const OPTIONAL_ASSET = /\/nbextensions\/widgets\/notebook\/js\/extension\.js\?/

/** Same-origin requests a page made that failed or answered 4xx/5xx, as `status url`. */
function watchFailures(page: Page): string[] {
  const failures: string[] = []
  const ours = (url: string) => new URL(url).origin === new URL(page.url()).origin && !OPTIONAL_ASSET.test(url)
  page.on('requestfailed', (request) => {
    if (!ours(request.url())) return
    const failure = `failed (${request.failure()?.errorText}) ${request.url()}`
    failures.push(failure)
    // Chromium aborts requests in flight when the host's interfaces change, as Docker's do while
    // other suites create networks: the gateway never saw them. Such a request counts only if
    // asking again (with the page's cookies) fails too.
    if (request.failure()?.errorText !== 'net::ERR_NETWORK_CHANGED' || request.method() !== 'GET') return
    page.request.get(request.url()).then(
      (again) => {
        if (again.status() < 400) failures.splice(failures.indexOf(failure), 1)
        else failures.push(`${again.status()} on asking again: ${request.url()}`)
      },
      (err: Error) => failures.push(`failed again (${err.message}) ${request.url()}`),
    )
  })
  page.on('response', (response) => {
    if (response.status() >= 400 && ours(response.url())) failures.push(`${response.status()} ${response.url()}`)
  })
  return failures
}

/** A page in a fresh browser context, watched: its failed same-origin requests and the WebSockets it opened. */
async function withPage(
  browser: Browser,
  use: (page: Page, seen: { failures: string[]; sockets: string[] }) => Promise<void>,
): Promise<void> {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    const failures = watchFailures(page)
    const sockets: string[] = []
    page.on('websocket', (socket) => sockets.push(socket.url()))
    await use(page, { failures, sockets })
  } finally {
    await context.close()
  }
}

/**
 * Use a Jupyter Notebook served at `base` (ending in `/`): the tree page loads cleanly, a notebook
 * is created through the REST API with the XSRF cookie, and a kernel runs a cell over WebSockets.
 */
function useJupyter(browser: Browser, base: string): Promise<void> {
  return withPage(browser, async (page, { failures, sockets }) => {
    await page.goto(`${base}tree`)
    await page.waitForSelector('#notebook_list', { timeout: 30_000 })
    await page.waitForLoadState('networkidle')
    expect(failures, 'same-origin requests of the tree page').toEqual([])

    const created = await page.evaluate(async (api) => {
      const xsrf = /(?:^|; )_xsrf=([^;]+)/.exec(document.cookie)?.[1]
      const res = await fetch(`${api}contents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-xsrftoken': decodeURIComponent(xsrf ?? '') },
        body: JSON.stringify({ type: 'notebook' }),
      })
      return { status: res.status, xsrf: Boolean(xsrf), body: (await res.json()) as { path?: string } }
    }, `${base}api/`)
    expect(created.xsrf, 'the _xsrf cookie is readable at the prefix').toBe(true)
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body.path).toMatch(/\.ipynb$/)

    await page.goto(`${base}notebooks/${created.body.path}`)
    await page.waitForFunction(
      () => (window as unknown as JupyterWindow).Jupyter?.notebook?.kernel?.is_connected?.() === true,
      undefined,
      { timeout: 60_000 },
    )
    await page.evaluate(() => {
      const notebook = (window as unknown as JupyterWindow).Jupyter.notebook
      notebook.get_cell(0).set_text('print(6 * 7)')
      notebook.execute_cell_and_select_below()
    })
    const output = await page.waitForSelector('.output_area pre', { timeout: 60_000 })
    expect((await output.textContent())?.trim()).toBe('42')
    expect(sockets.some((url) => url.startsWith(base.replace(/^http/, 'ws')) && url.includes('/api/kernels/'))).toBe(
      true,
    )
    expect(failures, 'same-origin requests of the notebook page').toEqual([])
  })
}

/** The parts of Jupyter Notebook's page script the test drives. */
interface JupyterWindow {
  Jupyter: {
    notebook: {
      kernel?: { is_connected?: () => boolean }
      get_cell(index: number): { set_text(text: string): void }
      execute_cell_and_select_below(): void
    }
  }
}

/**
 * A notebook's steps wait up to 30 s (the page), 60 s (the kernel) and 60 s (the output): the test
 * may take as long as its steps allow, which a loaded 2-core machine starting a kernel sometimes needs.
 */
const APP_TEST = { timeout: 180_000 }

function realApps(runtime: Runtime) {
  describe.runIf(ready)(`real applications through the gateway on ${runtime}, in Chromium`, () => {
    const fixture = useAcceptanceGateway(runtime, (socketPath) => ({
      docker: { socketPath },
      hostSuffix: '.docker.localhost',
    }))
    let browser: Browser
    const names = { notebook: '', hostNotebook: '', shiny: '', files: '' }
    beforeAll(async () => {
      browser = await launchChromium()
      names.notebook = uniqueName('nb')
      names.hostNotebook = uniqueName('nbhost')
      names.shiny = uniqueName('shiny')
      names.files = uniqueName('files')
      // The README's recipes, as written there, under this run's names.
      await fixture.launchOk({ ...jupyterAtPrefix, name: names.notebook })
      await fixture.launchOk({ ...jupyterAtRoot, name: names.hostNotebook })
      await fixture.launchOk({ ...shiny, name: names.shiny })
      await fixture.launchOk({ image: APPS_IMAGE, port: 8888, name: names.files, cmd: ['/srv/files.sh'] })
      for (const name of Object.values(names)) await fixture.whenServing(name)
    })
    afterAll(async () => {
      await browser?.close()
    })

    it('Jupyter under /docker/<name>/ (stripPrefix: false, base URL from PUBLIC_PREFIX)', APP_TEST, async () => {
      await useJupyter(browser, `${fixture.gw.url}/docker/${names.notebook}/`)
    })

    it('Jupyter at the root of its own host (hostname routing)', APP_TEST, async () => {
      const port = new URL(fixture.gw.url).port
      await useJupyter(browser, `http://${names.hostNotebook}.docker.localhost:${port}/`)
    })

    it('Shiny: changing an input updates an output, over a WebSocket', APP_TEST, async () => {
      await withPage(browser, async (page, { failures, sockets }) => {
        const base = `${fixture.gw.url}/docker/${names.shiny}/`
        await page.goto(base)
        await page.waitForFunction(() => document.querySelector('#twice')?.textContent === 'twice: 2', undefined, {
          timeout: 30_000,
        })
        await page.fill('#n', '21')
        await page.waitForFunction(() => document.querySelector('#twice')?.textContent === 'twice: 42', undefined, {
          timeout: 30_000,
        })
        expect(sockets.some((url) => url.startsWith(base.replace(/^http/, 'ws')))).toBe(true)
        expect(failures).toEqual([])
      })
    })

    it('a 50 MB file comes through byte-identical, and Range requests get exact bytes', async () => {
      const base = `/docker/${names.files}`
      const expected = (await (await fixture.api(`${base}/big.bin.sha256`)).text()).trim()
      const full = await fixture.api(`${base}/big.bin`)
      expect(full.status).toBe(200)
      const bytes = Buffer.from(await full.arrayBuffer())
      expect(bytes.length).toBe(50 * 1024 * 1024)
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(expected)
      for (const [range, start, end] of [
        ['bytes=0-99', 0, 100],
        ['bytes=31457280-31522815', 31457280, 31522816],
        [`bytes=-4096`, bytes.length - 4096, bytes.length],
      ] as const) {
        const part = await fixture.api(`${base}/big.bin`, { headers: { range } })
        expect(part.status, range).toBe(206)
        expect(part.headers.get('content-range'), range).toBe(`bytes ${start}-${end - 1}/${bytes.length}`)
        expect(Buffer.compare(Buffer.from(await part.arrayBuffer()), bytes.subarray(start, end)), range).toBe(0)
      }
    })
  })
}
