// Where the controller's CPU time goes: with --profile, each controller process runs with
// V8's --cpu-prof, and its profile is summed up here by self time, per function and per
// area (TLS, the AWS SDK, the product's own code, garbage collection, idle...).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  name: string;
  file: string;
  seconds: number;
  areas: Array<{ area: string; seconds: number; share: number }>;
  functions: Array<{ fn: string; seconds: number; share: number }>;
}

/** The area a frame belongs to, by the file it is in. */
function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const rules: Array<[RegExp, string]> = [
    [/node:(internal\/)?(tls|_tls|crypto|internal\/crypto)/, 'node: tls/crypto'],
    [/node:(internal\/)?(net|http|https|_http)|internal\/http/, 'node: http/net'],
    [/node:(internal\/)?(stream|streams)|internal\/streams/, 'node: streams'],
    [/node:/, 'node: other'],
    [/@aws-sdk|@smithy|@aws-crypto/, 'AWS SDK'],
    [/@kubernetes\/client-node|node-fetch|ws\//, 'Kubernetes client'],
    [/node_modules\/tar-stream|node_modules\/streamx|b4a/, 'tar-stream'],
    [/node_modules/, 'other packages'],
    [/\/pkg\/registry\//, 'product: registry client'],
    [/\/pkg\/store\//, 'product: object store'],
    [/\/pkg\/backup\//, 'product: backup data path'],
    [/\/pkg\/restore\//, 'product: restore data path'],
    [/\/pkg\/oci\//, 'product: digests/manifests'],
    [/\/pkg\//, 'product: other pkg'],
    [/\/controllers\//, 'product: controllers'],
  ];
  return rules.find(([re]) => re.test(url))?.[1] ?? 'other';
}

export async function summarizeProfile(name: string, dir: string, top = 12): Promise<ProfileSummary | undefined> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile')).sort();
  const file = files[files.length - 1];
  if (!file) return undefined;
  const prof = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>(); // node id -> microseconds
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const total = Math.max(1, prof.endTime - prof.startTime);
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of self) {
    const { callFrame: f } = byId.get(id)!;
    const area = areaOf(f.url, f.functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const fn = `${f.functionName || '(anonymous)'} ${f.url ? `${f.url.replace(/^.*\/(node_modules|work\/main)\//, '')}:${f.lineNumber + 1}` : ''}`.trim();
    fns.set(fn, (fns.get(fn) ?? 0) + us);
  }
  const rank = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return {
    name,
    file: path.join(dir, file),
    seconds: total / 1e6,
    areas: rank(areas).map(([area, us]) => ({ area, seconds: us / 1e6, share: us / total })),
    functions: rank(fns).filter(([fn]) => !fn.startsWith('(idle)')).slice(0, top).map(([fn, us]) => ({ fn, seconds: us / 1e6, share: us / total })),
  };
}

export function profileText(p: ProfileSummary): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(6);
  return [
    `${p.name}: ${p.seconds.toFixed(1)}s profiled (${p.file})`,
    ...p.areas.map((a) => `  ${pct(a.share)} ${a.seconds.toFixed(2).padStart(7)}s  ${a.area}`),
    '  top functions by self time:',
    ...p.functions.map((f) => `  ${pct(f.share)} ${f.seconds.toFixed(2).padStart(7)}s  ${f.fn}`),
  ];
}
