/** 256 random bits as hex: tokens and session secrets. */
export function randomToken(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** SHA-256 of a secret as hex, for storing secrets without keeping them. */
export async function hashSecret(secret: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(secret)))
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Compare two secrets in time independent of where (or whether) they differ. */
export async function sameSecret(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all(
    [a, b].map(async (s) => new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s)))),
  )
  let diff = 0
  for (let i = 0; i < da!.length; i++) diff |= da![i]! ^ db![i]!
  return diff === 0
}

/**
 * Compare two stored hashes (from {@link hashSecret}) without an early exit, synchronously, for
 * checks that must happen inside one store update.
 */
export function sameHash(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/** Whether `secret` equals any of `candidates`, checking all of them (no early exit). */
export async function matchesAny(secret: string, candidates: readonly string[]): Promise<boolean> {
  const results = await Promise.all(candidates.map((candidate) => sameSecret(secret, candidate)))
  return results.includes(true)
}

/** Loopback addresses (IPv4 127/8, IPv6 ::1, and IPv4-mapped loopback). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false
  return /^(127\.|::ffff:127\.)/.test(address) || address === '::1' || address === 'localhost'
}
