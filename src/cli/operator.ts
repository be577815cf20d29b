import { hostname, userInfo } from 'node:os';

/** Who starts a run, for the audit trail and the self-approval rule: `$CUTOVER_USER`, else user@host. */
export function operator(env: Record<string, string | undefined>): string {
  if (env.CUTOVER_USER) return env.CUTOVER_USER;
  let name = env.USER ?? 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // A container user without a passwd entry: keep $USER.
  }
  return `${name}@${hostname()}`;
}
