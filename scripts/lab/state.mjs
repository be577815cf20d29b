// What the lab looks like right now: every expected program with its pid record (if any), whether the
// process still runs and whether it answers its health check.
import { clusterComponents } from './components.mjs';
import { clusters } from './layout.mjs';
import { motoComponent } from './moto.mjs';
import { isRunning, readRecords } from './procs.mjs';

/** All components in start order: each cluster's chain, then moto. */
export function allComponents(bin) {
  return [...clusters.flatMap((c) => clusterComponents(bin, c)), motoComponent()];
}

/**
 * @typedef {{ component: import('./components.mjs').Component,
 *   record?: import('./procs.mjs').ProcRecord, running: boolean, healthy: boolean, detail: string }} ComponentState
 */

/** @returns {Promise<ComponentState[]>} */
export async function inspect() {
  const records = readRecords();
  // Binary paths do not matter here: liveness compares against the recorded command line.
  const components = allComponents('');
  return Promise.all(
    components.map(async (component) => {
      const record = records.find((r) => r.id === component.id);
      const running = record !== undefined && isRunning(record);
      if (!running) return { component, record, running, healthy: false, detail: record ? 'exited' : 'not started' };
      const r = await component.check();
      return { component, record, running, healthy: r.ok, detail: r.ok ? 'healthy' : r.detail };
    }),
  );
}

export const allHealthy = (states) => states.every((s) => s.healthy);
