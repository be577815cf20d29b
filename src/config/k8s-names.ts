// The shapes Kubernetes and Route 53 accept for names the runbook passes on to them. Checked when the files
// are loaded, so a bad name is reported at its line instead of as a server's 422 (or a crash) mid-plan.
import { parseRequirement, selectorTerms } from '../core/label-selector.js';

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

function termProblem(term: string): string | undefined {
  if (term === '') return 'an empty requirement (two commas, or a comma at an end)';
  const requirement = parseRequirement(term);
  if (requirement === undefined) {
    return `"${term}" is not a requirement (key, !key, key=value, key!=value, key in (a,b), key notin (a,b))`;
  }
  if (!('values' in requirement)) return labelKeyProblem(requirement.key);
  if (!requirement.equality && /\(\s*\)$/.test(term)) return `"${term}": the value list is empty`;
  return labelKeyProblem(requirement.key) ?? requirement.values.map(labelValueProblem).find((p) => p !== undefined);
}

/** Why `selector` is not a Kubernetes label selector the apiserver accepts, or undefined when it is. */
export function selectorProblem(selector: string): string | undefined {
  const parts = selectorTerms(selector);
  if (!parts) return 'unbalanced parentheses';
  for (const part of parts) {
    const problem = termProblem(part);
    if (problem) return problem;
  }
  return undefined;
}
