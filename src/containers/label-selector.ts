/**
 * Label selectors, the one rule behind `GET /api/containers?label=` and `POST /api/purge`:
 * `key=value` picks containers whose label `key` is exactly `value`, `key` picks containers
 * that carry `key` with any value.
 */

/** A test of a container's labels. */
export type LabelTest = (labels: Readonly<Record<string, string>>) => boolean

/** The test that passes when every selector matches (no selector: every container). */
export function labelTest(selectors: readonly string[]): LabelTest {
  const parsed = selectors.map((selector) => {
    const at = selector.indexOf('=')
    return at === -1 ? { key: selector } : { key: selector.slice(0, at), value: selector.slice(at + 1) }
  })
  return (labels) =>
    parsed.every(({ key, value }) => (value === undefined ? Object.hasOwn(labels, key) : labels[key] === value))
}
