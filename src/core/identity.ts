import { userInfo } from 'node:os';

/** The operator's user name. A Job's container user often has no passwd entry, where userInfo() throws. */
export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
