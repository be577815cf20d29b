// The sandbox's only source of randomness (Job run-time jitter, retry jitter): a small seeded generator,
// so two rehearsals with the same `seed` make the same choices and print the same report.

/** mulberry32: a 32-bit state generator, plenty for jitter; returns numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
