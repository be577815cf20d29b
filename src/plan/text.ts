// Ordering that is the same on every machine (localeCompare depends on the locale, and is slow).
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
