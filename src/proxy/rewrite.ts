/**
 * Keep a container inside its prefix: redirects and cookies it sends are rewritten so they
 * point under `/docker/<name>/` and cannot reach the parent app or other containers.
 */

/** The origin of a URL as the URL standard serialises it (default port dropped); itself if unparsable. */
function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

/** Where a container's answer is relayed: what its redirects and cookies are kept inside. */
export interface ResponseScope {
  /** The container's own origin, e.g. `http://172.17.0.2:80`. */
  upstreamOrigin: string
  /** The public prefix, e.g. `/docker/name` (empty under hostname routing). */
  prefix: string
  /** `Host` as the client sent it, which the container sees too (`upstream.preserveHost`). */
  publicHost?: string
  /** The request's id, answered in `X-Request-Id` whatever the container said. */
  requestId?: string
}

/** Whether an absolute URL points at the container itself: its upstream origin, or the client's host. */
function isSelf(url: URL, scope: ResponseScope): boolean {
  // Compared as URL origins, so `http://172.17.0.2:80` and `http://172.17.0.2` are the same.
  if (url.origin === originOf(scope.upstreamOrigin)) return true
  // Any scheme: behind a TLS terminator an app may say `http://` for the public `https://` host.
  return scope.publicHost !== undefined && url.host === hostOf(scope.publicHost)
}

/** A `Host` value as a URL serialises it (lower case, default port dropped); empty if unparsable. */
function hostOf(host: string): string {
  try {
    return new URL(`http://${host}`).host
  } catch {
    return ''
  }
}

/**
 * Rewrite a `Location` that points at the container itself — absolute to its upstream origin
 * or to the client's own host, or root-relative — to a path under the public prefix. Relative
 * locations and paths already under the prefix (apps that know their prefix) keep their path.
 */
export function rewriteLocation(location: string, scope: ResponseScope): string {
  let path = location
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    let url: URL
    try {
      url = new URL(location)
    } catch {
      return location
    }
    if (!isSelf(url, scope)) return location
    path = `${url.pathname}${url.search}${url.hash}`
  } else if (!location.startsWith('/') || location.startsWith('//')) {
    return location
  }
  return withinPrefix(path, scope.prefix)
}

/** A root-relative path under `prefix`: unchanged when already there, else prefixed. */
function withinPrefix(path: string, prefix: string): string {
  if (!prefix || path === prefix || path.startsWith(`${prefix}/`)) return path
  return `${prefix}${path}`
}

/**
 * Scope a `Set-Cookie` to the container: its `Path` moves under the prefix (a path already under
 * it stays as it is) and any `Domain` is dropped, so the cookie is host-only and never visible
 * to the parent app's paths.
 */
export function scopeSetCookie(cookie: string, prefix: string): string {
  const [pair, ...attributes] = cookie.split(';')
  let path = '/'
  const kept: string[] = []
  for (const attribute of attributes) {
    const name = attribute.split('=')[0]!.trim().toLowerCase()
    if (name === 'path') path = attribute.slice(attribute.indexOf('=') + 1).trim() || '/'
    else if (name !== 'domain') kept.push(attribute.trim())
  }
  if (!path.startsWith('/')) path = '/'
  const scoped = path === '/' && prefix ? `${prefix}/` : withinPrefix(path, prefix)
  return [pair!.trim(), `Path=${scoped}`, ...kept].join('; ')
}

/**
 * Between two cookies: `;`, or the `, ` that joins repeated `Cookie` header lines (as `Headers`
 * combine fields) when a cookie name follows it. Cookie values cannot hold a comma (RFC 6265
 * §4.1.1), and a loose one not followed by `name=` stays where it is.
 */
const COOKIE_SEPARATOR = /;|,(?=\s*[^\s=;,]+=)/

/** Remove the named cookies (the parent app's, e.g. its session), and any starting with `prefix`, from a `Cookie` header. */
export function stripCookies(cookieHeader: string, names: ReadonlySet<string>, prefix?: string): string {
  return cookieHeader
    .split(COOKIE_SEPARATOR)
    .map((part) => part.trim())
    .filter((part) => {
      if (!part) return false
      const name = part.slice(0, part.indexOf('=') === -1 ? undefined : part.indexOf('=')).trim()
      return !names.has(name) && !(prefix && name.startsWith(prefix))
    })
    .join('; ')
}
