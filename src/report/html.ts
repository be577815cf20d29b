// One self-contained HTML page of a cutover for people to look at (`--output html FILE`): a timeline with a
// lane per CronJob — its ticks as marks coloured by the cluster that ran them, its handoff window, doubles
// and misses in red — the weight steps as a stepped chart, gates and approvals as markers, then the tables.
// Pure: it takes a plain model (built from a rehearsal report, a run's status, or a ledger) and returns the
// page as a string. The page loads nothing (inline CSS and SVG, a Content-Security-Policy that forbids
// every fetch), so it can be mailed, attached to a ticket or opened offline.

export interface PageTickRun {
  cluster: string;
  /** The Job's name, when known. */
  job?: string;
  /** When the Job started, when that was not at its tick (a catch-up, a tick held back). */
  startedAt?: string;
  outcome?: string;
}

export interface PageTick {
  at: string;
  /** Who ran the tick: none is a miss, more than one a double run. */
  runs: PageTickRun[];
  /** Why a tick without a run is not a miss (skipped by policy, left to the source), when it is known. */
  note?: string;
}

export interface PageWindow {
  from: string;
  /** Absent: still open at the end of the page's window. */
  to?: string;
  label: string;
}

export interface PageCronJob {
  name: string;
  schedule?: string;
  ticks: PageTick[];
  /** Handoff windows: source suspended → target resumed. */
  windows: PageWindow[];
  /** Intervals with both copies enabled: always red. */
  bothEnabled: PageWindow[];
}

export interface PageWeightStep {
  at: string;
  /** `name type` of the record group. */
  group: string;
  /** Effective share (percent) per set identifier, after the change. */
  shares: Record<string, number>;
}

export interface PageMarker {
  at: string;
  kind: 'gate' | 'approval';
  label: string;
  /** Passed / approved. */
  ok: boolean;
}

export interface PageTable {
  title: string;
  columns: string[];
  rows: string[][];
  /** Row indexes to show in red. */
  bad?: number[];
}

export interface PageFact {
  label: string;
  value: string;
  bad?: boolean;
}

export interface CutoverPage {
  title: string;
  subtitle: string;
  /** The time span the pictures cover. */
  window: { from: string; to: string };
  /** Cluster names in legend order (source first); their colours follow this order. */
  clusters: string[];
  /** Weight-chart series colours: set identifier → cluster, when they are named differently. */
  seriesCluster?: Record<string, string>;
  facts: PageFact[];
  cronJobs: PageCronJob[];
  weights: PageWeightStep[];
  markers: PageMarker[];
  tables: PageTable[];
}

const PALETTE = ['#2b6cb0', '#2f855a', '#805ad5', '#b7791f', '#319795', '#718096'];
const RED = '#e53e3e';

const esc = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Times as the page shows them: UTC, whole seconds unless the time has milliseconds. */
export const utc = (iso: string): string => iso.replace('T', ' ').replace(/\.000Z$/, 'Z').replace(/Z$/, ' UTC');

const LABEL_W = 210;
const PLOT_W = 860;
/** Room right of the plot for the weight series' names. */
const RIGHT_W = 70;
const SVG_W = LABEL_W + PLOT_W + RIGHT_W;

/** An SVG that scales to the page's width, keeping its proportions. */
const svgOpen = (cls: string, height: number, extra = ''): string =>
  `<svg class="${cls}"${extra} viewBox="0 0 ${SVG_W} ${height}" width="${SVG_W}" height="${height}" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`;
const LANE_H = 30;

interface Scale {
  x: (iso: string) => number;
  start: number;
  end: number;
}

function scaleOf(page: CutoverPage): Scale {
  const start = Date.parse(page.window.from);
  const end = Math.max(Date.parse(page.window.to), start + 1_000);
  const x = (iso: string): number => {
    const t = Math.min(Math.max(Date.parse(iso), start), end);
    return LABEL_W + ((t - start) / (end - start)) * PLOT_W;
  };
  return { x, start, end };
}

export function colourOf(page: CutoverPage, cluster: string): string {
  const index = page.clusters.indexOf(cluster);
  return PALETTE[index >= 0 ? index % PALETTE.length : PALETTE.length - 1]!;
}

/** ok, missed or double: what a tick's mark says. */
export function tickVerdict(tick: PageTick): 'ok' | 'missed' | 'double' | 'skipped' {
  if (tick.runs.length > 1) return 'double';
  if (tick.runs.length === 1) return 'ok';
  return tick.note ? 'skipped' : 'missed';
}

export function renderHtmlPage(page: CutoverPage): string {
  const scale = scaleOf(page);
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    // Nothing may be fetched: the page is complete as written.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>${esc(page.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body>',
    `<h1>${esc(page.title)}</h1>`,
    `<p class="sub">${esc(page.subtitle)}</p>`,
    facts(page.facts),
    legend(page),
    '<h2>Timeline</h2>',
    timeline(page, scale),
    '<h2>Traffic</h2>',
    weightChart(page, scale),
    ...page.tables.map(table),
    '</body></html>',
    '',
  ].join('\n');
}

function facts(list: PageFact[]): string {
  const items = list.map((f) => `<div class="fact${f.bad ? ' bad' : ''}"><span>${esc(f.label)}</span><b>${esc(f.value)}</b></div>`);
  return `<div class="facts">${items.join('')}</div>`;
}

function legend(page: CutoverPage): string {
  const swatch = (colour: string, label: string, cls = ''): string =>
    `<span class="key${cls}"><i style="background:${colour}"></i>${esc(label)}</span>`;
  return [
    '<p class="legend">',
    ...page.clusters.map((c) => swatch(colourOf(page, c), `tick run on ${c}`)),
    swatch(RED, 'double run or missed tick', ' red'),
    swatch('#a0aec0', 'tick skipped on purpose'),
    swatch('#fefcbf', 'handoff window (both copies suspended)'),
    '<span class="key"><b class="gate">◆</b>gate</span>',
    '<span class="key"><b class="approval">▲</b>approval</span>',
    '</p>',
  ].join('');
}

function timeline(page: CutoverPage, scale: Scale): string {
  const top = 34;
  const height = top + Math.max(1, page.cronJobs.length) * LANE_H + 10;
  const parts: string[] = [svgOpen('timeline', height, ' role="img"')];
  parts.push(...axis(scale, top, height - 10));
  page.cronJobs.forEach((cj, i) => parts.push(lane(page, cj, scale, top + i * LANE_H)));
  if (page.cronJobs.length === 0) parts.push(`<text x="${LABEL_W}" y="${top + 18}" class="note">no CronJob in this cutover</text>`);
  parts.push(...page.markers.map((m) => marker(m, scale, top, height - 10)));
  parts.push('</svg>');
  return parts.join('');
}

function axis(scale: Scale, top: number, bottom: number): string[] {
  const span = scale.end - scale.start;
  const steps = [60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 86_400_000];
  const every = steps.find((s) => span / s <= 12) ?? 86_400_000;
  const out: string[] = [];
  for (let t = Math.ceil(scale.start / every) * every; t <= scale.end; t += every) {
    const iso = new Date(t).toISOString();
    const x = scale.x(iso).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${top - 4}" y2="${bottom}" class="grid"/>`);
    out.push(`<text x="${x}" y="${top - 8}" class="axis">${iso.slice(11, 16)}</text>`);
  }
  out.push(`<text x="4" y="${top - 8}" class="axis">UTC ${new Date(scale.start).toISOString().slice(0, 10)}</text>`);
  return out;
}

function lane(page: CutoverPage, cj: PageCronJob, scale: Scale, y: number): string {
  const mid = y + LANE_H / 2;
  const out: string[] = [`<g class="cronjob" data-cronjob="${esc(cj.name)}">`];
  out.push(`<text x="4" y="${mid + 4}" class="name">${esc(cj.name)}</text>`);
  out.push(`<line x1="${LABEL_W}" x2="${LABEL_W + PLOT_W}" y1="${mid}" y2="${mid}" class="lane"/>`);
  for (const w of cj.windows) out.push(band(w, scale, y, 'handoff'));
  for (const w of cj.bothEnabled) out.push(band(w, scale, y, 'both'));
  for (const tick of cj.ticks) out.push(tickMark(page, tick, scale, mid));
  out.push('</g>');
  return out.join('');
}

function band(w: PageWindow, scale: Scale, y: number, cls: string): string {
  const x1 = scale.x(w.from);
  const x2 = w.to ? scale.x(w.to) : LABEL_W + PLOT_W;
  const width = Math.max(2, x2 - x1).toFixed(1);
  return `<rect class="${cls}" x="${x1.toFixed(1)}" y="${y + 3}" width="${width}" height="${LANE_H - 6}"><title>${esc(w.label)}</title></rect>`;
}

function tickMark(page: CutoverPage, tick: PageTick, scale: Scale, mid: number): string {
  const verdict = tickVerdict(tick);
  const x = scale.x(tick.at);
  const colour = verdict === 'ok' ? colourOf(page, tick.runs[0]!.cluster) : verdict === 'skipped' ? '#a0aec0' : RED;
  const clusters = tick.runs.map((r) => r.cluster).join(' ');
  const what =
    verdict === 'missed'
      ? 'MISSED: no Job on any cluster'
      : verdict === 'skipped'
        ? `not run: ${tick.note}`
        : tick.runs.map((r) => `${r.cluster}${r.job ? ` ${r.job}` : ''}${r.startedAt ? ` started ${utc(r.startedAt)}` : ''}${r.outcome ? ` (${r.outcome})` : ''}`).join(', ');
  const title = `${utc(tick.at)}: ${verdict === 'double' ? 'DOUBLE RUN: ' : ''}${what}`;
  const attrs = `class="tick ${verdict}" data-tick="${esc(tick.at)}" data-cluster="${esc(clusters)}" data-verdict="${verdict}"`;
  if (verdict === 'ok' || verdict === 'skipped') {
    return `<rect ${attrs} x="${(x - 2).toFixed(1)}" y="${mid - 8}" width="4" height="16" rx="1" fill="${colour}"><title>${esc(title)}</title></rect>`;
  }
  // Doubles and misses stand out: a taller red mark with a ring around it.
  return (
    `<g ${attrs}><circle cx="${x.toFixed(1)}" cy="${mid}" r="9" fill="none" stroke="${RED}" stroke-width="2"/>` +
    `<rect x="${(x - 2.5).toFixed(1)}" y="${mid - 12}" width="5" height="24" fill="${RED}"/><title>${esc(title)}</title></g>`
  );
}

function marker(m: PageMarker, scale: Scale, top: number, bottom: number): string {
  const x = scale.x(m.at).toFixed(1);
  const cls = `marker ${m.kind}${m.ok ? '' : ' failed'}`;
  const glyph = m.kind === 'gate' ? '◆' : '▲';
  return (
    `<g class="${cls}" data-at="${esc(m.at)}"><line x1="${x}" x2="${x}" y1="${top}" y2="${bottom}"/>` +
    `<text x="${x}" y="${bottom + 8}" text-anchor="middle">${glyph}</text><title>${esc(`${utc(m.at)} ${m.label}`)}</title></g>`
  );
}

function weightChart(page: CutoverPage, scale: Scale): string {
  if (page.weights.length === 0) return '<p class="note">No weight change in this cutover.</p>';
  const groups = [...new Set(page.weights.map((w) => w.group))];
  return groups.map((group) => groupChart(page, scale, group, page.weights.filter((w) => w.group === group))).join('');
}

function groupChart(page: CutoverPage, scale: Scale, group: string, steps: PageWeightStep[]): string {
  const height = 150;
  const top = 16;
  const plotH = height - top - 24;
  const y = (percent: number): number => top + plotH - (percent / 100) * plotH;
  const series = [...new Set(steps.flatMap((s) => Object.keys(s.shares)))];
  const parts = [svgOpen('weights', height, ` data-group="${esc(group)}"`)];
  parts.push(`<text x="4" y="${top + 4}" class="name">${esc(group)}</text>`);
  for (const p of [0, 50, 100]) {
    parts.push(`<line x1="${LABEL_W}" x2="${LABEL_W + PLOT_W}" y1="${y(p)}" y2="${y(p)}" class="grid"/>`);
    parts.push(`<text x="${LABEL_W - 6}" y="${y(p) + 4}" text-anchor="end" class="axis">${p}%</text>`);
  }
  // Series ending at the same share would print their names on top of each other: stack them.
  const labelYs: number[] = [];
  for (const id of series) {
    const colour = colourOf(page, page.seriesCluster?.[id] ?? id);
    const { d, last } = seriesPath(steps, id, { x: scale.x, y });
    parts.push(`<path class="series" data-series="${esc(id)}" d="${d}" stroke="${colour}"><title>${esc(id)}</title></path>`);
    let labelY = y(last ?? 0) + 4;
    while (labelYs.some((used) => Math.abs(used - labelY) < 12)) labelY += 12;
    labelYs.push(labelY);
    parts.push(`<text x="${LABEL_W + PLOT_W + 4}" y="${labelY}" class="axis" fill="${colour}">${esc(id)}</text>`);
  }
  for (const s of steps) {
    const x = scale.x(s.at).toFixed(1);
    const text = Object.entries(s.shares).map(([id, share]) => `${id} ${share}%`).join(', ');
    parts.push(`<circle class="step" cx="${x}" cy="${height - 14}" r="3"><title>${esc(`${utc(s.at)}: ${text}`)}</title></circle>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

/** A stepped line through a series' share at each step, on to the plot's right edge. */
function seriesPath(
  steps: PageWeightStep[],
  id: string,
  at: { x: (instant: string) => number; y: (percent: number) => number },
): { d: string; last: number | undefined } {
  let d = '';
  let last: number | undefined;
  for (const s of steps) {
    const share = s.shares[id] ?? 0;
    const x = at.x(s.at).toFixed(1);
    d += last === undefined ? `M${LABEL_W},${at.y(share)} L${x},${at.y(share)}` : ` L${x},${at.y(last)} L${x},${at.y(share)}`;
    last = share;
  }
  d += ` L${LABEL_W + PLOT_W},${at.y(last ?? 0)}`;
  return { d, last };
}

function table(t: PageTable): string {
  const bad = new Set(t.bad ?? []);
  const head = `<tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const body = t.rows.map((row, i) => `<tr${bad.has(i) ? ' class="bad"' : ''}>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`);
  const empty = t.rows.length === 0 ? `<tr><td colspan="${t.columns.length}" class="note">(none)</td></tr>` : '';
  return `<h2>${esc(t.title)}</h2><table>${head}${body.join('')}${empty}</table>`;
}

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a202c;margin:24px;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.sub{color:#4a5568;margin:0 0 12px}
.facts{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.fact{border:1px solid #cbd5e0;border-radius:6px;padding:4px 10px}.fact span{color:#4a5568;margin-right:6px}
.fact.bad{border-color:${RED};background:#fff5f5}.fact.bad b{color:${RED}}
.legend{color:#4a5568}.key{margin-right:14px;white-space:nowrap}.key i{display:inline-block;width:10px;height:14px;margin-right:4px;vertical-align:-2px;border-radius:1px}
.key b{margin-right:4px}
svg{display:block;width:100%;height:auto;max-width:${SVG_W}px}
svg text{font:12px system-ui,sans-serif;fill:#2d3748}svg text.axis{fill:#718096;font-size:11px}svg text.note{fill:#718096}
.grid{stroke:#edf2f7}.lane{stroke:#cbd5e0}
rect.handoff{fill:#fefcbf;stroke:#d69e2e;stroke-dasharray:3 2}rect.both{fill:#fed7d7;stroke:${RED}}
.marker line{stroke:#4a5568;stroke-dasharray:2 3}.marker text{font-size:12px}
.marker.gate text{fill:#2c7a7b}.marker.approval text{fill:#6b46c1}.marker.failed text{fill:${RED}}.marker.failed line{stroke:${RED}}
b.gate{color:#2c7a7b}b.approval{color:#6b46c1}
path.series{fill:none;stroke-width:2.5}circle.step{fill:#4a5568}
table{border-collapse:collapse;margin:4px 0 8px}th,td{border:1px solid #e2e8f0;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f7fafc}tr.bad td{color:${RED};font-weight:600}td.note{color:#718096}
`;
