// The shapes Kubernetes and Route 53 accept for names the runbook passes on to them. Checked when the files
// are loaded, so a bad name is reported at its line instead of as a server's 422 (or a crash) mid-plan.

/** A namespace, and other RFC 1123 labels: lowercase letters, digits and "-", at most 63. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A label value, and the runbook name (it names a state folder and Kubernetes labels). */
export const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A Route 53 hosted zone id, as the console shows it or as the API returns it. */
export const HOSTED_ZONE_ID = /^(\/hostedzone\/)?[A-Z0-9]{1,32}$/;

/** Why `key` is not a label key (`prefix/name`), or undefined when it is one. */
function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `the key prefix "${prefix}" is not a DNS subdomain`;
  }
  if (!LABEL_NAME.test(name)) return `"${key}" is not a label key (letters, digits, "-", "_", ".", at most 63, optional "prefix/")`;
  return undefined;
}

function labelValueProblem(value: string): string | undefined {
  return value === '' || LABEL_VALUE.test(value) ? undefined : `"${value}" is not a label value (letters, digits, "-", "_", ".", at most 63)`;
}

/** Splits on commas outside a `( … )` value list. */
function terms(selector: string): string[] | undefined {
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

function termProblem(term: string): string | undefined {
  if (term === '') return 'an empty requirement (two commas, or a comma at an end)';
  const set = SET_TERM.exec(term);
  if (set) {
    const values = set[3]!.split(',').map((v) => v.trim());
    if (values.length === 1 && values[0] === '') return `"${term}": the value list is empty`;
    return labelKeyProblem(set[1]!) ?? values.map(labelValueProblem).find((p) => p !== undefined);
  }
  const eq = EQUALITY_TERM.exec(term);
  if (eq) return labelKeyProblem(eq[1]!) ?? labelValueProblem(eq[3]!);
  const exists = EXISTS_TERM.exec(term);
  if (exists) return labelKeyProblem(exists[2]!);
  return `"${term}" is not a requirement (key, !key, key=value, key!=value, key in (a,b), key notin (a,b))`;
}

/** Why `selector` is not a Kubernetes label selector the apiserver accepts, or undefined when it is. */
export function selectorProblem(selector: string): string | undefined {
  const parts = terms(selector);
  if (!parts) return 'unbalanced parentheses';
  for (const part of parts) {
    const problem = termProblem(part);
    if (problem) return problem;
  }
  return undefined;
}
