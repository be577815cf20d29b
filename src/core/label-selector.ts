// The grammar of a Kubernetes label selector string (`a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`,
// `a notin (x,y)`), read once for everything that needs it: load-time validation (which also checks each
// key and value), the sandbox's list filter, and the fence's structured selector.

export type Requirement =
  /** `equality`: written `a=b`, `a==b` or `a!=b` rather than as a set. */
  | { key: string; op: 'in' | 'notin'; values: string[]; equality: boolean }
  | { key: string; op: 'exists' | '!exists' };

/** The requirements as written, trimmed (an empty one kept), or undefined when parentheses do not balance. */
export function selectorTerms(selector: string): string[] | undefined {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const ch = selector[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (depth < 0 || depth > 1) return undefined;
    if (ch === ',' && depth === 0) {
      out.push(selector.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (depth !== 0) return undefined;
  out.push(selector.slice(start).trim());
  return out;
}

const SET_TERM = /^(\S+)\s+(in|notin)\s+\(([^()]*)\)$/;
const EQUALITY_TERM = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/;
const EXISTS_TERM = /^(!?)([^=!\s(),]+)$/;

/** One requirement, or undefined when it is none of the forms above. Set values are trimmed, empty ones dropped. */
export function parseRequirement(term: string): Requirement | undefined {
  const set = SET_TERM.exec(term);
  if (set) {
    const values = set[3]!.split(',').map((v) => v.trim()).filter((v) => v !== '');
    return { key: set[1]!, op: set[2] as 'in' | 'notin', values, equality: false };
  }
  const eq = EQUALITY_TERM.exec(term);
  if (eq) return { key: eq[1]!, op: eq[2] === '!=' ? 'notin' : 'in', values: [eq[3]!], equality: true };
  const exists = EXISTS_TERM.exec(term);
  if (exists) return { key: exists[2]!, op: exists[1] === '!' ? '!exists' : 'exists' };
  return undefined;
}
