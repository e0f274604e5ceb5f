import type * as v from 'valibot'
import type { ContainerRecord } from '../backend.js'
import { labelTest } from '../containers/label-selector.js'
import type { ListQuerySchema } from './schemas.js'

/** A validated query of `GET /api/containers`. */
export type ListQuery = v.InferOutput<typeof ListQuerySchema>

/** The records one list query selects, and where the next page starts when a limit left some out. */
export interface ListPage {
  records: ContainerRecord[]
  next?: string
}

const byName = (a: ContainerRecord, b: ContainerRecord) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

/**
 * Select a page of the list: the records whose labels match every selector, named after `after`,
 * in name order, at most `limit` of them. Only the page is described afterwards, so a platform
 * listing one user's containers pays for those, whatever the gateway manages in all.
 */
export function listPage(records: readonly ContainerRecord[], query: ListQuery): ListPage {
  const selected = labelTest(query.label)
  const { after, limit } = query
  const chosen = records.filter((record) => selected(record.labels) && (after === undefined || record.name > after))
  chosen.sort(byName)
  if (limit === undefined || chosen.length <= limit) return { records: chosen }
  const page = chosen.slice(0, limit)
  return { records: page, next: page[page.length - 1]!.name }
}

/**
 * The query parameters as the schema reads them: `label` always a list (it may repeat), any other
 * parameter a single value, or a list when it was repeated (which the schema then refuses).
 */
export function listQueryInput(queries: Record<string, string[]>): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(queries).map(([key, values]) => [key, key === 'label' || values.length > 1 ? values : values[0]!]),
  )
}
