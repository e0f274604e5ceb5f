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

/**
 * Rewrite a `Location` that points at the container itself — absolute to its upstream
 * origin, or root-relative — to the public prefix. Relative locations and ones already under
 * the prefix (apps that honour `X-Forwarded-Prefix`) are left alone.
 */
export function rewriteLocation(location: string, upstreamOrigin: string, prefix: string): string {
  let path = location
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    let url: URL
    try {
      url = new URL(location)
    } catch {
      return location
    }
    // Compared as URL origins, so `http://172.17.0.2:80` and `http://172.17.0.2` are the same.
    if (url.origin !== originOf(upstreamOrigin)) return location
    path = `${url.pathname}${url.search}${url.hash}`
  } else if (!location.startsWith('/') || location.startsWith('//')) {
    return location
  }
  if (!prefix || path === prefix || path.startsWith(`${prefix}/`)) return path
  return `${prefix}${path}`
}

/**
 * Scope a `Set-Cookie` to the container: its `Path` moves under the prefix and any `Domain`
 * is dropped, so the cookie is host-only and never visible to the parent app's paths.
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
  const scoped = prefix ? `${prefix}${path === '/' ? '/' : path}` : path
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
