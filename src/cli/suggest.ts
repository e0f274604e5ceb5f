/**
 * How many single-character edits turn `a` into `b`: insertions, deletions, substitutions, and
 * swaps of two neighbours (optimal string alignment distance).
 */
function distance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, rows[i - 2]![j - 2]! + 1)
      rows[i]![j] = best
    }
  }
  return rows[a.length]![b.length]!
}

/**
 * The known word `typed` was most likely meant to be (a typo of at most a third of its length,
 * or a prefix of one word only), as a " Did you mean …?" sentence; `''` when none is close.
 */
export function didYouMean(typed: string, known: readonly string[]): string {
  const scored = known
    .map((word) => ({ word, cost: distance(typed.toLowerCase(), word) }))
    .sort((a, b) => a.cost - b.cost)
  const best = scored[0]
  if (best && best.cost > 0 && best.cost <= Math.max(1, Math.floor(typed.length / 3)))
    return ` Did you mean "${best.word}"?`
  const bare = typed.replace(/^-+/, '')
  const prefixed = known.filter((word) => bare.length >= 2 && word.replace(/^-+/, '').startsWith(bare))
  return prefixed.length === 1 ? ` Did you mean "${prefixed[0]}"?` : ''
}
