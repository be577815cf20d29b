// Runs on the built-in sandbox (`execute` on a sandbox environment, `rehearse`): simulated clusters and
// DNS on a virtual clock, the real engine and steps. Nothing real is touched, so nothing is confirmed;
// the report says what every cluster did, and the exit code says whether the run would have gone through.
import type { LoadedRunbook } from '../config/types.js';
import { HaltError } from '../core/errors.js';
import type { SandboxRunOutcome, SandboxRunOptions } from '../adapters/sandbox/run.js';
import type { CliContext } from './context.js';
import type { VirtualClock } from '../adapters/sandbox/clock.js';
import { writePage } from './page.js';
import { createTerminalReporter, type Every, type TerminalReporter } from './reporter.js';

export interface SimulationSettings {
  output: 'table' | 'json' | 'html';
  /** `--output html FILE`: the report as a page, besides the table on stdout. */
  page?: string;
  startedBy: string;
  autoApprove: boolean;
  /** `sandbox run`, `rehearsal`: how messages name the run. */
  what: string;
  /** Two runs one after the other (a sandbox rollback): "step 3", not "step 3/9" of a count that changes. */
  severalRuns?: boolean;
  /** Heartbeat period in virtual time; none unless asked for (`--heartbeat`). */
  heartbeatMs?: number;
}

export type Simulation = (options: SandboxRunOptions) => Promise<SandboxRunOutcome>;

export async function runSimulation(
  loaded: LoadedRunbook,
  context: CliContext,
  settings: SimulationSettings,
  simulation: Simulation,
): Promise<void> {
  const { io } = context;
  // JSON output is the report alone: progress lines would break it.
  const out = settings.output === 'json' ? { write: () => undefined } : io.stdout;
  let reporter: TerminalReporter | undefined;
  const controller = new AbortController();
  const stopListening = io.onInterrupt((signal) => controller.abort(new HaltError(`stopped by ${signal}`)));
  let outcome: SandboxRunOutcome;
  try {
    outcome = await simulation({
      reporter: (clock) => {
        reporter = createTerminalReporter({
          out,
          color: context.color(),
          ...(settings.severalRuns ? {} : { steps: loaded.runbook.steps.length }),
          now: () => clock.now(),
          // The heartbeat of a simulated run beats in its virtual time: the lines a real run's log would have.
          heartbeatMs: settings.heartbeatMs ?? 0,
          ...(out.isTTY ? {} : { every: virtualEvery(clock) }),
        });
        return reporter;
      },
      output: settings.output === 'json' ? 'json' : 'table',
      startedBy: settings.startedBy,
      autoApprove: settings.autoApprove,
      signal: controller.signal,
    });
  } finally {
    stopListening();
    reporter?.close();
  }
  io.stdout.write(outcome.text);
  if (settings.page !== undefined) {
    const [{ renderHtmlPage }, { rehearsalPage }] = await Promise.all([import('../report/html.js'), import('../report/rehearsal-page.js')]);
    await writePage(context, settings.page, renderHtmlPage(rehearsalPage(outcome.report)));
  }
  verdict(outcome, settings.what);
}

function verdict(outcome: SandboxRunOutcome, what: string): void {
  const { result, report } = outcome;
  if (!result) throw new HaltError(`${what}: the plan has errors, so nothing was run (see the report above)`);
  if (report.doubleRuns > 0) {
    throw new HaltError(`${what}: ${report.doubleRuns} tick(s) ran on both clusters (see the report above)`);
  }
  if (result.status === 'aborted') {
    // Nothing of a simulated run outlives the command: there is no run to resume, unlike a real one.
    const why = (result.message ?? 'stopped').replace(/; the run can be resumed$/, '');
    throw new HaltError(`${what} ${why}`, `A ${what} is kept in memory only: nothing is left to resume; run the command again.`);
  }
  if (result.status !== 'done') {
    throw new HaltError(`${what}: the run ${result.status}${result.message ? `: ${result.message}` : ''}`);
  }
}

/** Heartbeats on the virtual clock's daemon timers: they fire as simulated time passes, never move it. */
function virtualEvery(clock: VirtualClock): Every {
  return (ms, tick) => {
    let timer: { cancel(): void } | undefined;
    let stopped = false;
    const arm = (): void => {
      timer = clock.schedule(clock.now().getTime() + ms, () => {
        if (stopped) return;
        tick();
        arm();
      }, { daemon: true });
    };
    arm();
    return () => {
      stopped = true;
      timer?.cancel();
    };
  };
}
