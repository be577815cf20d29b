// Kubernetes label selectors for the simulated clusters: the real apiserver filters lists server-side,
// so the sandbox must accept the same syntax (`a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`,
// `a notin (x,y)`) and reject what the apiserver would reject.

export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' };

const SET = /^([A-Za-z0-9./_-]+)\s+(in|notin)\s+\(([^)]*)\)$/;
const EQUALITY = /^([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)$/;
const EXISTS = /^(!?)([A-Za-z0-9./_-]+)$/;

/** Splits on commas that are not inside a `( … )` value list. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const ch = selector[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

function parseTerm(term: string): Requirement {
  const set = SET.exec(term);
  if (set) {
    const values = set[3]!.split(',').map((v) => v.trim()).filter((v) => v !== '');
    return { key: set[1]!, op: set[2] as 'in' | 'notin', values };
  }
  const eq = EQUALITY.exec(term);
  if (eq) return { key: eq[1]!, op: eq[2] === '!=' ? 'notin' : 'in', values: [eq[3]!] };
  const exists = EXISTS.exec(term);
  if (exists) return { key: exists[2]!, op: exists[1] === '!' ? '!exists' : 'exists' };
  throw new Error(`unable to parse label selector requirement "${term}"`);
}

export function parseSelector(selector: string): Requirement[] {
  return splitTerms(selector).map(parseTerm);
}

export function matchesSelector(requirements: Requirement[], labels: Record<string, string>): boolean {
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case 'in':
        return has && r.values.includes(labels[r.key]!);
      case 'notin':
        return !has || !r.values.includes(labels[r.key]!);
    }
  });
}
