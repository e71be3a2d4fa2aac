// The run's outcome: ratios and targets computed from the measured phases, a table for
// people, and one JSON object for machines.
import type { DataSetStats } from './datasetStats.js';
import type { PhaseResult } from './measure.js';
import { describeNetwork, type NetworkProfile } from './network.js';
import { profileText, type ProfileSummary } from './profile.js';

export interface Target {
  name: string;
  goal: string;
  measured: string;
  /** undefined: not measured in this run (a phase was skipped, or another option measures it). */
  met: boolean | undefined;
}

export interface Report {
  scale: string;
  /** The latency every method of the run paid. */
  network: NetworkProfile;
  bigLayerGiB: number;
  dataset: DataSetStats;
  phases: Map<string, PhaseResult>;
  /** Phases that failed, with why. */
  failed: Map<string, string>;
  ratios: Record<string, number | null>;
  targets: Target[];
  machine: { cpus: number; memoryGiB: number; node: string };
  /** --profile: where each controller's CPU time went. */
  profiles?: ProfileSummary[];
}

const MiB = 1024 * 1024;

/** Throughput ratios; null when either side was not measured. */
export function ratios(phases: Map<string, PhaseResult>): Record<string, number | null> {
  const r = (a: string, b: string) => {
    const x = phases.get(a);
    const y = phases.get(b);
    return x && y && y.mbps > 0 ? round(x.mbps / y.mbps, 3) : null;
  };
  return {
    'backup/raw': r('backup', 'raw'),
    'backup/oadpPath': r('backup', 'oadpPath'),
    'backup/crane': r('backup', 'crane'),
    'backup/regctl': r('backup', 'regctl'),
    'backup/oras': r('backup', 'oras'),
    'restore/raw': r('restore', 'rawRestore'),
  };
}

/** The generic tools measured beside today's path: the product should beat each by half again. */
export const PEERS = ['crane', 'regctl', 'oras'] as const;

export function targets(
  phases: Map<string, PhaseResult>, q: Record<string, number | null>, opts: { scale: string; bigLayerGiB: number; network: string },
): Target[] {
  const at = (name: string, goal: string, value: number | null, ok: (v: number) => boolean, shown = (v: number) => v.toFixed(2)): Target =>
    ({ name, goal, measured: value === null ? 'not measured' : shown(value), met: value === null ? undefined : ok(value) });
  const backup = phases.get('backup');
  const again = phases.get('backupAgain');
  const out = [
    at('backup/raw', '>= 0.9', q['backup/raw'] ?? null, (v) => v >= 0.9),
    // Issue 17 asks for it with --network region, where today's path pays a round trip to the
    // bucket per request; the network is in the name so a loopback figure is not read as that one.
    at(`backup/oadpPath (network ${opts.network})`, '>= 3', q['backup/oadpPath'] ?? null, (v) => v >= 3),
    ...PEERS.map((peer) => at(`backup/${peer}`, '> 1.5', q[`backup/${peer}`] ?? null, (v) => v > 1.5)),
  ];
  const uploaded = again?.details?.layerBytesUploaded;
  out.push({
    name: 'backupAgain uploads no layer bytes', goal: '0 bytes',
    measured: typeof uploaded === 'number' ? `${uploaded} bytes` : 'not measured',
    met: typeof uploaded === 'number' ? uploaded === 0 : undefined,
  });
  // Issue 17's: at 1,000 image streams a run is round trips per image, so the bars are lower there.
  const large = opts.scale === 'large';
  const againMost = large ? 0.1 : 0.03;
  out.push(at('backupAgain time / backup time', `< ${againMost * 100}%`, backup && again ? again.seconds / backup.seconds : null,
    (v) => v < againMost, (v) => `${(v * 100).toFixed(1)}%`));
  const restoreLeast = large ? 0.8 : 0.9;
  out.push(at('restore/raw', `>= ${restoreLeast}`, q['restore/raw'] ?? null, (v) => v >= restoreLeast));
  const rss = backup?.peakRssBytes;
  out.push(opts.bigLayerGiB >= 4
    ? at(`--big-layer ${opts.bigLayerGiB}: controller peak RSS`, '< 256 MiB', rss ?? null, (v) => v < 256 * MiB, (v) => `${(v / MiB).toFixed(0)} MiB`)
    : { name: 'controller peak RSS with a 4 GiB layer', goal: '< 256 MiB', measured: 'run with --big-layer 4', met: undefined });
  const size = backup?.details?.isbObjectBytes;
  const spec = backup?.details?.isbSpecBytes;
  const status = backup?.details?.isbStatusBytes;
  // The spec lists every reference by digest: with 1,000 streams it alone passes 100 KB, so
  // the parts are shown, the status being the part the product controls.
  out.push(opts.scale === 'large'
    ? at(`${backup?.details?.imageStreams ?? '?'} image streams in one ISB: completes, ISB object size`, '< 100 KB', typeof size === 'number' ? size : null,
      (v) => v < 100_000, (v) => `${kb(v)} (spec ${kb(Number(spec))}, status ${kb(Number(status))})`)
    : { name: '1,000 image streams in one ISB', goal: 'completes, ISB < 100 KB', measured: 'run with --scale large', met: undefined });
  return out;
}

export function humanReport(rep: Report): string {
  const d = rep.dataset;
  const lines: string[] = [];
  lines.push(`imagestream-backup benchmark: scale ${rep.scale}${rep.bigLayerGiB ? ` + one ${rep.bigLayerGiB} GiB layer` : ''}`
    + ` on ${rep.machine.cpus} CPUs, ${rep.machine.memoryGiB} GiB, Node ${rep.machine.node}`);
  lines.push(describeNetwork(rep.network));
  lines.push(`data set: ${d.imageStreams} image streams, ${d.references} images (${d.multiPlatformReferences} multi-platform, `
    + `${d.platformImages} platform images), ${d.tags} tags, ${d.uniqueLayers} unique layers; `
    + `unique ${mb(d.uniqueBytes)} MB, logical ${mb(d.logicalBytes)} MB, one-platform ${mb(d.oadpPathBytes)} MB`);
  lines.push('');
  const header = ['phase', 'wall s', 'MB copied', 'MB/s', 'store MB', 'peak RSS MiB'];
  const rows = [...rep.phases.values()].map((p) => [
    p.name, p.seconds.toFixed(2), mb(p.bytes), p.mbps.toFixed(1), mb(p.storeBytes),
    p.peakRssBytes === undefined ? '' : (p.peakRssBytes / MiB).toFixed(0),
  ]);
  const failedRows = [...rep.failed.keys()].map((name) => [name, 'FAILED', '', '', '', '']);
  lines.push(...table([header, ...rows, ...failedRows]));
  for (const [name, why] of rep.failed) lines.push(`${name} failed: ${why.slice(0, 500)}`);
  lines.push('');
  lines.push('details:');
  for (const p of rep.phases.values()) {
    if (p.details) lines.push(`  ${p.name}: ${Object.entries(p.details).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }
  const timelines = [...rep.phases.values()].filter((p) => p.timeline?.length);
  if (timelines.length) {
    lines.push('');
    lines.push('status as the watch saw it (seconds since create: phase/Ready reason, layer MB done):');
    for (const p of timelines) {
      lines.push(`  ${p.name}: ${thin(p.timeline!, 12).map((e) => `${e.t.toFixed(2)} ${e.phase}${e.reason ? `/${e.reason}` : ''}`
        + `${e.bytesDone !== undefined ? ` ${mb(e.bytesDone)}` : ''}`).join(' -> ')}`);
    }
  }
  lines.push('');
  lines.push(...table([['ratio (throughput)', 'value'], ...Object.entries(rep.ratios).map(([k, v]) => [k, v === null ? 'n/a' : v.toFixed(2)])]));
  lines.push('');
  lines.push(...table([['target', 'goal', 'measured', 'met'],
    ...rep.targets.map((t) => [t.name, t.goal, t.measured, t.met === undefined ? '-' : t.met ? 'yes' : 'NO'])]));
  for (const p of rep.profiles ?? []) lines.push('', ...profileText(p));
  return lines.join('\n');
}

export function jsonReport(rep: Report): string {
  return JSON.stringify({
    scale: rep.scale,
    network: rep.network,
    bigLayerGiB: rep.bigLayerGiB,
    machine: rep.machine,
    dataset: rep.dataset,
    ...Object.fromEntries(rep.phases),
    ...Object.fromEntries([...rep.failed].map(([name, error]) => [name, { name, failed: true, error }])),
    ...rep.ratios,
    targets: rep.targets,
    ...(rep.profiles && { profiles: rep.profiles }),
  });
}

/** At most n entries, evenly spread, first and last kept: a long run's timeline stays one readable line. */
function thin<T>(entries: T[], n: number): T[] {
  if (entries.length <= n) return entries;
  return Array.from({ length: n }, (_, i) => entries[Math.round((i * (entries.length - 1)) / (n - 1))]!);
}

function kb(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} KB`;
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(fmt)];
}
