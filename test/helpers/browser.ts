import { access } from 'node:fs/promises'
import { chromium, type Browser } from 'playwright-core'

/** Debian's Chromium (`apt-get install chromium`; `scripts/setup.sh --test-images` installs it). */
export const CHROMIUM_PATH = '/usr/bin/chromium'

/**
 * Whether Chromium is installed. Without it the browser suites skip with a loud reason; in CI
 * (`CI=true`) a missing browser fails the run.
 */
export async function chromiumReady(suite: string): Promise<boolean> {
  const found = await access(CHROMIUM_PATH).then(
    () => true,
    () => false,
  )
  if (found) return true
  const reason = `${CHROMIUM_PATH} is missing (apt-get install chromium)`
  if (process.env.CI === 'true') throw new Error(`${suite}: Chromium is required in CI but ${reason}`)
  console.warn(`\n!!! SKIPPING ${suite}: ${reason}. Run \`npm test\` as root to install it.\n`)
  return false
}

/**
 * Headless Chromium with no background traffic, that reaches loopback only (the test run's rule):
 * every other address goes to a proxy on a closed loopback port, so a page that asks for a CDN,
 * a font service or analytics gets an error, not the internet.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--proxy-server=http://127.0.0.1:9',
      '--proxy-bypass-list=localhost;*.localhost;127.0.0.1;[::1]',
    ],
  })
}
