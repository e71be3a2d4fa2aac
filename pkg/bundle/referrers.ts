// Which referrers of a bundle belong to a set of manifests: those whose subject is one of them,
// then those of these referrers (a signature of an attestation), and so on. A restore pushes
// them in this order, so that every subject is in the registry before what refers to it.
import type { BackupJson, BundleReferrer } from './format.js';

/** The referrers reachable from `subjects`, each once, every one after its subject. */
export function referrersOf(backup: Pick<BackupJson, 'referrers'>, subjects: Iterable<string>): BundleReferrer[] {
  const bySubject = new Map<string, BundleReferrer[]>();
  for (const r of backup.referrers ?? []) bySubject.set(r.subject, [...(bySubject.get(r.subject) ?? []), r]);
  const out: BundleReferrer[] = [];
  const reached = new Set<string>(subjects);
  const queue = [...reached];
  for (let i = 0; i < queue.length; i++) {
    for (const r of bySubject.get(queue[i]!) ?? []) {
      out.push(r);
      // A manifest attached to two subjects is listed under each, but walked once.
      if (!reached.has(r.digest)) {
        reached.add(r.digest);
        queue.push(r.digest);
      }
    }
  }
  return out;
}
