// What every gate does: look at the world once and judge. The runner in ../gate.ts repeats the look until
// the gate passes, fails for good, or its deadline passes; gates only say what they saw.
import type { JsonValue } from '../types.js';

export type VerdictStatus = 'pass' | 'wait' | 'fail';

export interface Verdict {
  /** `wait`: not yet (a rollout in progress, a PENDING first run); `fail`: stop now (an alarm firing). */
  status: VerdictStatus;
  /** One line for the operator and the halt message. */
  summary: string;
  /** Recorded in the journal with the gate's result. */
  evidence: Record<string, JsonValue>;
}

export interface GateCheck {
  /** Pause between two looks. */
  intervalMs: number;
  /** One look; `until` is the gate's deadline, so a single look never outlives it. */
  check(until: Date, signal: AbortSignal): Promise<Verdict>;
}

export const pass = (summary: string, evidence: Record<string, JsonValue>): Verdict => ({ status: 'pass', summary, evidence });
export const wait = (summary: string, evidence: Record<string, JsonValue>): Verdict => ({ status: 'wait', summary, evidence });
export const fail = (summary: string, evidence: Record<string, JsonValue>): Verdict => ({ status: 'fail', summary, evidence });

/** How often gates backed by an API look again: often enough to pass soon, rarely enough for rate limits. */
export const API_POLL_MS = 10_000;
