/**
 * Why an image could not be pulled, as a client can switch on it. Engines report registry
 * failures only as text (the registry's own words, relayed); this is the one place that reads it.
 */
export const PULL_FAILURE_REASONS = [
  'not_found',
  'unauthorized',
  'unreachable',
  'rate_limited',
  'timeout',
  'not_present',
  'failed',
] as const

/** One of {@link PULL_FAILURE_REASONS}. */
export type PullFailureReason = (typeof PULL_FAILURE_REASONS)[number]

/** Each reason in plain words, for the client (the engine's own words go to the operator log). */
export const PULL_FAILURE_WORDS: Record<PullFailureReason, string> = {
  not_found: 'the registry has no image by that name and tag',
  unauthorized: 'the registry refused access to it (it needs credentials, or the name is wrong)',
  unreachable: 'its registry cannot be reached from the engine',
  rate_limited: 'the registry is limiting pulls; try again later',
  timeout: 'the pull did not finish in time',
  not_present: 'it is not on the engine and the pull policy is "never"',
  failed: 'the engine could not pull it',
}

const RULES: [RegExp, PullFailureReason][] = [
  [/toomanyrequests|rate limit/i, 'rate_limited'],
  [/unauthorized|authentication required|access denied|denied:/i, 'unauthorized'],
  [/manifest unknown|not found|does not exist|no such image|name unknown/i, 'not_found'],
  [
    /dial tcp|no such host|connection refused|network is unreachable|no route to host|i\/o timeout|tls: |tls handshake|x509: |server misbehaving|EOF$/i,
    'unreachable',
  ],
  [/timeout|deadline exceeded/i, 'timeout'],
]

/** The reason an engine's message about a failed pull gives. */
export function pullFailureReason(engineMessage: string | undefined): PullFailureReason {
  if (!engineMessage) return 'failed'
  return RULES.find(([pattern]) => pattern.test(engineMessage))?.[1] ?? 'failed'
}
