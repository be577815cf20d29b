// Small statistics for noisy machines: a figure is reported as the median of its repetitions with the
// lowest and highest seen, never as a single run.

/** Sorted copy, numbers only. */
const sorted = (values) => values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);

/** Nearest-rank percentile (p in 0..100) of the values; undefined when there are none. */
export function percentile(values, p) {
  const s = sorted(values);
  if (s.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

export function median(values) {
  const s = sorted(values);
  if (s.length === 0) return undefined;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** `{ median, min, max, n }` of one figure's repetitions. */
export function summary(values) {
  const s = sorted(values);
  return { median: median(s), min: s[0], max: s[s.length - 1], n: s.length };
}

/** p50/p99/max of one run's samples (e.g. per-CronJob gaps). */
export function distribution(values) {
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: percentile(values, 100), n: sorted(values).length };
}
