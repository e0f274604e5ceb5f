import type * as v from 'valibot'

/**
 * A validation issue in plain words, for API answers and configuration errors alike. Messages a
 * schema words itself are kept; valibot's generic ones (`Invalid key: Expected never …`) are
 * reworded for the checks whose generic wording hides what to change.
 * @example describeIssue(v.safeParse(v.strictObject({}), { bogus: 1 }).issues![0]) // 'unknown key (check the spelling)'
 */
export function describeIssue(issue: v.BaseIssue<unknown>): string {
  if (issue.type === 'strict_object' && issue.expected === 'never') return 'unknown key (check the spelling)'
  if (!issue.message.startsWith('Invalid ')) return issue.message
  const requirement = (issue as { requirement?: unknown }).requirement
  switch (issue.type) {
    case 'non_empty':
      return 'must not be empty'
    case 'min_value':
      return `must be at least ${String(requirement)}, not ${issue.received}`
    case 'max_value':
      return `must be at most ${String(requirement)}, not ${issue.received}`
    case 'min_length':
      return `must have a length of at least ${String(requirement)}, not ${issue.received}`
    case 'max_length':
      return `must have a length of at most ${String(requirement)}, not ${issue.received}`
    case 'integer':
      return `must be a whole number, not ${issue.received}`
    default:
      return issue.message
  }
}
