// Schedule math over 2,000 CronJobs, as the planner asks it (latestTick, nextTicks, ticksBetween over an hour,
// zoneTransitions over two days), in a mix of zones and uneven shapes: first round (zone tables built) and warm.
// Usage: node scripts/bench/schedule-math.mjs [path to a built schedule.js] [instant]
const { latestTick, nextTicks, ticksBetween, zoneTransitions } = await import(process.argv[2] ?? new URL('../../dist/plan/schedule.js', import.meta.url).href);
const zones = [undefined, undefined, undefined, 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Sydney', 'America/Sao_Paulo'];
const shapes = ['*/5 * * * *', '0 * * * *', '*/5 9-17 * * *', '5,10 * * * *', '30 1 * * *', '0 9-17 * * 1-5', '*/15 8-18 * * *', '30 10,11,12 * * 1-5', '* * * * *', '0 0 1 * *', '17 3 * * 0'];
const cases = Array.from({ length: 2000 }, (_, i) => [shapes[i % shapes.length].replace(/^(\d+)/, (m) => String((Number(m) + i) % 60)), zones[i % zones.length]]);
const now = new Date(process.argv[3] ?? '2026-12-03T18:03:00Z');
function round() {
  let n = 0;
  for (const [s, z] of cases) {
    const last = latestTick(s, z, now);
    n += nextTicks(s, z, now, 3).length;
    n += ticksBetween(s, z, new Date(now.getTime() - 3_600_000), now, 100).length;
    zoneTransitions(z, new Date(now.getTime() - 86_400_000), new Date(now.getTime() + 86_400_000));
    if (last) n++;
  }
  return n;
}
const t0 = performance.now(); round(); const first = performance.now() - t0;
const t1 = performance.now(); for (let i = 0; i < 3; i++) round(); const warm = (performance.now() - t1) / 3;
console.log(`${process.argv[2] ?? 'dist/plan/schedule.js'}: 2000 CronJobs (latestTick + nextTicks(3) + ticksBetween(1h) + zoneTransitions(±1d)) first ${first.toFixed(0)} ms, warm ${warm.toFixed(0)} ms per round`);
