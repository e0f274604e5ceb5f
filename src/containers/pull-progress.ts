import type { PullEvent } from '../backend.js'

/** A pull event in a few words, e.g. `pulling the image: Downloading 12.0 of 40.5 MB`. */
export function describePull(event: PullEvent): string {
  const mb = (bytes: number) => (bytes / 1_048_576).toFixed(1)
  const amount = event.current !== undefined && event.total ? ` ${mb(event.current)} of ${mb(event.total)} MB` : ''
  return `pulling the image: ${event.status}${amount}`
}
