/**
 * THE rule for the path a container receives, on every proxy path: what follows its public
 * prefix (`/docker/nb1/tree?x` → `/tree?x`), or, for a container launched with
 * `stripPrefix: false`, the full public path including any embedding mount
 * (`/viz/docker/nb1/tree?x`). Under hostname routing the prefix is empty and both are the same.
 * @param rest the raw path and query after the prefix, `/` or longer.
 */
export function containerPath(record: { stripPrefix?: boolean }, prefix: string, rest: string): string {
  return record.stripPrefix === false ? `${prefix}${rest}` : rest
}
