import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumReady, launchChromium } from '../helpers/browser.js'
import {
  APPS_IMAGE,
  RUN_ID,
  appsImageReady,
  dockerCli,
  dockerReady,
  eventually,
  uniqueName,
} from '../helpers/docker.js'
import { RUNTIMES, type Runtime } from '../helpers/gateway-process.js'
import { useAcceptanceGateway } from '../helpers/acceptance-gateway.js'

/**
 * Real third-party apps from Debian's packages, used through the gateway in Chromium as a person
 * would: Jupyter Notebook under its path prefix and at the root of its own host, a Shiny app, and
 * a large file with Range requests. These are the recipes of docs/real-applications.md, run.
 */
const suite = 'real applications in Chromium'

/** The launch bodies of the recipes in docs/real-applications.md, in order: what this suite launches. */
function readmeRecipes(): Record<string, unknown>[] {
  const page = readFileSync(new URL('../../docs/real-applications.md', import.meta.url), 'utf8')
  return [...page.matchAll(/ -d '(\{.*\})'$/gm)].map((match) => JSON.parse(match[1]!) as Record<string, unknown>)
}
const [jupyterAtPrefix, jupyterAtRoot, shiny, labAtPrefix, labAtRoot, streamlit, gradio, marimo] = readmeRecipes()

it('the documented recipes are the launches this suite makes', () => {
  expect(readmeRecipes()).toHaveLength(8)
  for (const recipe of [labAtPrefix, labAtRoot, streamlit, gradio, marimo])
    expect(JSON.stringify(recipe?.cmd)).toContain('/opt/py/bin/')
  expect(JSON.stringify(labAtPrefix?.cmd)).toContain('--ServerApp.base_url=$PUBLIC_PREFIX')
  expect(JSON.stringify(streamlit?.cmd)).toContain('--server.enableXsrfProtection=true')
  expect(jupyterAtPrefix).toMatchObject({ image: APPS_IMAGE, stripPrefix: false })
  expect(JSON.stringify(jupyterAtPrefix?.cmd)).toContain('--NotebookApp.base_url=$PUBLIC_PREFIX')
  expect(JSON.stringify(jupyterAtRoot?.cmd)).toContain('--NotebookApp.base_url=/')
  expect(JSON.stringify(shiny?.cmd)).toContain('shiny::runApp')
})
const ready = (await dockerReady(suite)) && (await chromiumReady(suite)) && (await appsImageReady(suite))

/**
 * The apps run on a network of their own with no way out (`--internal`) and no way to each other:
 * an app that would phone home (update checks, analytics) cannot, as the test run's rule demands.
 */
const APPS_NETWORK = `hde-apps-${RUN_ID}`
if (ready)
  await dockerCli(
    'network',
    'create',
    '--internal',
    '-o',
    'com.docker.network.bridge.enable_icc=false',
    '--label',
    'hde.test=real-apps',
    APPS_NETWORK,
  )
afterAll(async () => {
  if (ready) await dockerCli('network', 'rm', APPS_NETWORK).catch(() => '')
})

for (const runtime of RUNTIMES) realApps(runtime)

/**
 * Notebook 6 always asks for the ipywidgets extension and carries on without it ("Widgets are not
 * available"); Debian installs it only with python3-ipywidgets. Jupyter's own 404, with or without a proxy.
 */
const OPTIONAL_ASSET = /\/nbextensions\/widgets\/notebook\/js\/extension\.js\?/

/** Same-origin requests a page made that failed or answered 4xx/5xx, as `status url`. */
function watchFailures(page: Page): string[] {
  const failures: string[] = []
  const ours = (url: string) =>
    new URL(url).origin === new URL(page.url()).origin &&
    !OPTIONAL_ASSET.test(url) &&
    // The browser asks for a default icon at the origin's root when a page names none (Gradio).
    new URL(url).pathname !== '/favicon.ico'
  page.on('requestfailed', (request) => {
    // A request the page itself cancelled (navigating away, an app aborting a poll) is no failure.
    if (!ours(request.url()) || request.failure()?.errorText === 'net::ERR_ABORTED') return
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

/**
 * Use a jupyter-server app at `base` (ending in `/`) through one of its interfaces, JupyterLab 4
 * (`lab`) or Notebook 7 (`notebook`): the page loads cleanly, a notebook is saved through the REST
 * API with the XSRF cookie, opening it starts a kernel over WebSockets, and running its cell prints.
 */
function useJupyterServer(browser: Browser, base: string, ui: 'lab' | 'notebook'): Promise<void> {
  return withPage(browser, async (page, { failures, sockets }) => {
    await page.goto(`${base}${ui === 'lab' ? 'lab?reset' : 'tree'}`)
    await page
      .locator(ui === 'lab' ? '#jp-main-dock-panel' : '.jp-DirListing')
      .first()
      .waitFor({ timeout: 60_000 })
    await page.waitForLoadState('networkidle')
    expect(failures, `same-origin requests of the ${ui} page`).toEqual([])

    const path = `hde-${ui}-${Date.now()}.ipynb`
    const saved = await page.evaluate(
      async ({ api, path }) => {
        const xsrf = /(?:^|; )_xsrf=([^;]+)/.exec(document.cookie)?.[1]
        const notebook = {
          cells: [{ cell_type: 'code', source: 'print(6 * 7)', metadata: {}, outputs: [], execution_count: null }],
          metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
          nbformat: 4,
          nbformat_minor: 5,
        }
        const res = await fetch(`${api}contents/${path}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', 'x-xsrftoken': decodeURIComponent(xsrf ?? '') },
          body: JSON.stringify({ type: 'notebook', format: 'json', content: notebook }),
        })
        return { status: res.status, xsrf: Boolean(xsrf) }
      },
      { api: `${base}api/`, path },
    )
    expect(saved.xsrf, 'the _xsrf cookie is readable at the prefix').toBe(true)
    expect(saved.status).toBe(201)

    await page.goto(`${base}${ui === 'lab' ? `lab/tree/${path}?reset` : `notebooks/${path}`}`)
    await page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first().waitFor({ timeout: 90_000 })
    // The toolbar's run button, pressed again should a busy machine swallow a press while the page settles.
    const run = page.locator('.jp-NotebookPanel-toolbar [data-command="notebook:run-cell-and-select-next"]').first()
    const output = page.locator('.jp-OutputArea-output').first()
    await eventually(
      async () => {
        await page.locator('.jp-Notebook .jp-Cell').first().click()
        await run.click()
        return output.waitFor({ timeout: 15_000 }).then(
          () => true,
          () => false,
        )
      },
      90_000,
      'the cell to print',
    )
    expect((await output.textContent())?.trim()).toBe('42')
    expect(sockets.some((url) => url.startsWith(base.replace(/^http/, 'ws')) && url.includes('/api/kernels/'))).toBe(
      true,
    )
    expect(failures, `same-origin requests of the ${ui} notebook page`).toEqual([])
  })
}

/**
 * A documented recipe under hostname routing, as docs/real-applications.md says: served at the root of its own
 * host, so without `stripPrefix` and without the option that tells it a prefix.
 */
function atRootOfHost(recipe: Record<string, unknown> | undefined): Record<string, unknown> {
  const { stripPrefix: _strip, ...rest } = recipe ?? {}
  const cmd = (rest.cmd as string[]).map((part) =>
    part
      .replace(/ --server\.baseUrlPath=\$PUBLIC_PREFIX/, '')
      .replace(/ --base-url=\$\{PUBLIC_PREFIX%\/\}/, '')
      .replace(/GRADIO_ROOT_PATH=\$\{PUBLIC_PREFIX%\/\} /, ''),
  )
  expect(cmd.join(' ')).not.toContain('PUBLIC_PREFIX')
  return { ...rest, cmd }
}

/** Type into a text field, confirm with Enter, and wait for the app to answer with `hello, <text>`. */
async function greetedBack(page: Page, field: ReturnType<Page['locator']>, text: string): Promise<void> {
  await field.waitFor({ timeout: 120_000 })
  await field.fill(text)
  await field.press('Enter')
  await page.getByText(`hello, ${text}`).first().waitFor({ timeout: 60_000 })
}

/** A Python app's page at `base` (ending in `/`), driven by `use`; its same-origin requests must all succeed. */
function usePythonApp(
  browser: Browser,
  base: string,
  use: (page: Page, sockets: string[]) => Promise<void>,
): Promise<void> {
  return withPage(browser, async (page, { failures, sockets }) => {
    await page.goto(base)
    await use(page, sockets)
    expect(failures).toEqual([])
  })
}

/** Streamlit reruns its script for a widget's new value, over its WebSocket. */
async function greetStreamlit(page: Page, sockets: string[], base: string, text: string): Promise<void> {
  await greetedBack(page, page.getByLabel('Your name'), text)
  expect(sockets).toContain(`${base.replace(/^http/, 'ws')}_stcore/stream`)
}

/** Gradio's button event goes through its queue and fills the output box. */
async function greetGradio(page: Page, text: string): Promise<void> {
  await page.locator('#name textarea').fill(text)
  await page.locator('#greet').click()
  await page.waitForFunction(
    (expected) => (document.querySelector('#greeting textarea') as HTMLTextAreaElement | null)?.value === expected,
    `hello, ${text}`,
    { timeout: 60_000 },
  )
}

/** Marimo reruns the cell that reads the text field, over its WebSocket. */
async function greetMarimo(page: Page, sockets: string[], base: string, text: string): Promise<void> {
  await greetedBack(page, page.getByRole('textbox').first(), text)
  expect(sockets.some((url) => url.startsWith(`${base.replace(/^http/, 'ws')}ws`))).toBe(true)
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
const APP_TEST = { timeout: 240_000 }
/** Four apps in one test: each step keeps its own bound, and the test allows for all of them. */
const HOSTS_TEST = { timeout: 600_000 }

function realApps(runtime: Runtime) {
  describe.runIf(ready)(`real applications through the gateway on ${runtime}, in Chromium`, () => {
    const fixture = useAcceptanceGateway(runtime, (socketPath) => ({
      docker: { socketPath, network: APPS_NETWORK },
      hostSuffix: '.docker.localhost',
    }))
    let browser: Browser
    const names = { notebook: '', hostNotebook: '', shiny: '', files: '' }
    const python = {
      lab: '',
      hostLab: '',
      streamlit: '',
      gradio: '',
      marimo: '',
      hostStreamlit: '',
      hostGradio: '',
      hostMarimo: '',
    }
    beforeAll(async () => {
      browser = await launchChromium()
      names.notebook = uniqueName('nb')
      names.hostNotebook = uniqueName('nbhost')
      names.shiny = uniqueName('shiny')
      names.files = uniqueName('files')
      // The documented recipes, as written there, under this run's names.
      await fixture.launchOk({ ...jupyterAtPrefix, name: names.notebook })
      await fixture.launchOk({ ...jupyterAtRoot, name: names.hostNotebook })
      await fixture.launchOk({ ...shiny, name: names.shiny })
      await fixture.launchOk({ image: APPS_IMAGE, port: 8888, name: names.files, cmd: ['/srv/files.sh'] })
      python.lab = uniqueName('lab')
      python.hostLab = uniqueName('labhost')
      python.streamlit = uniqueName('streamlit')
      python.gradio = uniqueName('gradio')
      python.marimo = uniqueName('marimo')
      await fixture.launchOk({ ...labAtPrefix, name: python.lab })
      await fixture.launchOk({ ...labAtRoot, name: python.hostLab })
      await fixture.launchOk({ ...streamlit, name: python.streamlit })
      await fixture.launchOk({ ...gradio, name: python.gradio })
      await fixture.launchOk({ ...marimo, name: python.marimo })
      python.hostStreamlit = uniqueName('sthost')
      python.hostGradio = uniqueName('grhost')
      python.hostMarimo = uniqueName('mohost')
      await fixture.launchOk({ ...atRootOfHost(streamlit), name: python.hostStreamlit })
      await fixture.launchOk({ ...atRootOfHost(gradio), name: python.hostGradio })
      await fixture.launchOk({ ...atRootOfHost(marimo), name: python.hostMarimo })
      for (const name of Object.values(names)) await fixture.whenServing(name)
      // Python apps take their time to import on a busy machine.
      for (const name of Object.values(python))
        await eventually(
          async () => {
            const res = await fixture.api(`/docker/${name}/`)
            await res.body?.cancel()
            return res.status !== 503
          },
          180_000,
          `${name} to serve`,
        )
    }, 300_000)
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

    it('JupyterLab 4 under /docker/<name>/ (stripPrefix: false, base URL from PUBLIC_PREFIX)', APP_TEST, async () => {
      await useJupyterServer(browser, `${fixture.gw.url}/docker/${python.lab}/`, 'lab')
    })

    it('Notebook 7 under /docker/<name>/, from the same server', APP_TEST, async () => {
      await useJupyterServer(browser, `${fixture.gw.url}/docker/${python.lab}/`, 'notebook')
    })

    it('JupyterLab 4 at the root of its own host (hostname routing)', APP_TEST, async () => {
      const port = new URL(fixture.gw.url).port
      await useJupyterServer(browser, `http://${python.hostLab}.docker.localhost:${port}/`, 'lab')
    })

    it(
      'Streamlit: a widget change reruns the script over its WebSocket; a 20 MB upload arrives intact',
      APP_TEST,
      async () => {
        const base = `${fixture.gw.url}/docker/${python.streamlit}/`
        await usePythonApp(browser, base, async (page, sockets) => {
          await greetStreamlit(page, sockets, base, 'gateway')
          // Through Streamlit's upload endpoint, with its XSRF token, under the prefix.
          const upload = Buffer.alloc(20 * 1024 * 1024)
          for (let i = 0; i < upload.length; i += 4096) upload.writeUInt32LE((i * 2654435761) >>> 0, i)
          const sha = createHash('sha256').update(upload).digest('hex')
          await page.locator('input[type="file"]').setInputFiles({
            name: 'big.bin',
            mimeType: 'application/octet-stream',
            buffer: upload,
          })
          await page.getByText(`received ${upload.length} bytes, sha256 ${sha}`).waitFor({ timeout: 90_000 })
        })
      },
    )

    it("Gradio: a button's event goes through its queue and back", APP_TEST, async () => {
      await usePythonApp(browser, `${fixture.gw.url}/docker/${python.gradio}/`, (page) => greetGradio(page, 'gateway'))
    })

    it('Marimo: a reactive cell updates over its WebSocket', APP_TEST, async () => {
      const base = `${fixture.gw.url}/docker/${python.marimo}/`
      await usePythonApp(browser, base, (page, sockets) => greetMarimo(page, sockets, base, 'gateway'))
    })

    it(
      'Notebook 7, Streamlit, Gradio and Marimo at the root of their own hosts (hostname routing)',
      HOSTS_TEST,
      async () => {
        const port = new URL(fixture.gw.url).port
        const host = (name: string) => `http://${name}.docker.localhost:${port}/`
        await useJupyterServer(browser, host(python.hostLab), 'notebook')
        const streamlitBase = host(python.hostStreamlit)
        await usePythonApp(browser, streamlitBase, (page, sockets) =>
          greetStreamlit(page, sockets, streamlitBase, 'host'),
        )
        await usePythonApp(browser, host(python.hostGradio), (page) => greetGradio(page, 'host'))
        const marimoBase = host(python.hostMarimo)
        await usePythonApp(browser, marimoBase, (page, sockets) => greetMarimo(page, sockets, marimoBase, 'host'))
      },
    )

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
