// Kubernetes label selectors for the simulated clusters: the real apiserver filters lists server-side,
// so the sandbox must accept the same syntax (`a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`,
// `a notin (x,y)`) and reject what the apiserver would reject (the grammar: src/core/label-selector.ts).
import { parseRequirement, selectorTerms, type Requirement } from '../../core/label-selector.js';

export type { Requirement };

export function parseSelector(selector: string): Requirement[] {
  const terms = selectorTerms(selector);
  if (terms === undefined) throw new Error(`unable to parse label selector "${selector}": unbalanced parentheses`);
  return terms
    .filter((term) => term !== '')
    .map((term) => {
      const requirement = parseRequirement(term);
      if (requirement === undefined) throw new Error(`unable to parse label selector requirement "${term}"`);
      return requirement;
    });
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
