// The end of an ImageStreamsRestore with spec.verifyOnly: its status and its event, as pure
// functions of what the verification found. Status stays small: the Ready condition names the
// first damaged blobs, status.failures at most 50, status.badBlobs counts them all; the event
// names as many as its message holds, and the log (runVerify.ts) every one.
import type { BlobProblem, VerifyResult } from '../../pkg/verify/index.js';
import { EventReasons, Reasons } from '../conditions.js';
import { MAX_CONDITION_MESSAGE, rfc3339, truncate } from '../runtime/conditions.js';
import { formatBytes, plural } from '../runtime/format.js';
import type { Event } from '../runtime/lifecycle.js';
import { capFailures } from '../runtime/status.js';
import type { RestoreSpec } from './ensureDefaults.js';
import { baseStatus, withConditions, type Phase, type RestoreStatus } from './status.js';

/** Damaged blobs named in the Ready condition. */
const NAMED_IN_CONDITION = 3;

/** Failed when anything is damaged; PartiallyFailed when intact but a selector named nothing; else Completed. */
export function verifiedPhase(v: VerifyResult): Phase {
  if (!v.intact) return 'Failed';
  return v.unmatched.length > 0 ? 'PartiallyFailed' : 'Completed';
}

export function verifiedStatus(cur: RestoreStatus | undefined, spec: RestoreSpec, v: VerifyResult, now: Date): RestoreStatus {
  const phase = verifiedPhase(v);
  const message = truncate(summary(spec.backupName, v));
  const reason = phase === 'Failed' ? Reasons.BackupCorrupt : phase === 'PartiallyFailed' ? Reasons.PartiallyFailed : Reasons.Completed;
  const failures = [
    ...v.problems.map((p) => ({ imageStream: p.imageStreams.join(', '), reference: p.digest, message: p.message })),
    ...v.unmatched,
  ];
  return {
    ...baseStatus(cur, spec),
    phase,
    message,
    progress: v.progress,
    badBlobs: v.problems.length,
    failures: failures.length ? capFailures(failures) : undefined,
    completionTimestamp: rfc3339(now),
    attempts: undefined,
    nextAttemptTime: undefined,
    conditions: withConditions(cur, spec, { ready: { status: phase === 'Failed' ? 'False' : 'True', reason, message } }, now),
  };
}

export function verifiedEvent(spec: RestoreSpec, v: VerifyResult): Event {
  const phase = verifiedPhase(v);
  if (phase === 'Completed') return { type: 'Normal', reason: EventReasons.VerifyCompleted, message: summary(spec.backupName, v), once: true };
  if (phase === 'PartiallyFailed') return { type: 'Warning', reason: EventReasons.VerifyPartiallyFailed, message: summary(spec.backupName, v), once: true };
  return { type: 'Warning', reason: EventReasons.BackupCorrupt, message: damageReport(spec.backupName, v), once: true };
}

function summary(backupName: string, v: VerifyResult): string {
  const name = JSON.stringify(backupName);
  if (v.bundleProblem) return `backup ${name} is damaged: ${v.bundleProblem}`;
  const { images, blobs, bytes } = v.progress;
  const read = `${plural(blobs.done, 'layer')} (${formatBytes(bytes.done)}) read and hashed, ${v.metadataChecked} of the bundle's manifests, indexes and configs checked`;
  const unmatched = v.unmatched.length ? `; ${v.unmatched.length} of spec.imageStreams named nothing in it (first: ${v.unmatched[0]!.message})` : '';
  if (v.intact) return `backup ${name} is intact: ${read}${unmatched}`;
  const first = v.problems.slice(0, NAMED_IN_CONDITION).map(brief).join(', ');
  const more = v.problems.length > NAMED_IN_CONDITION ? `, and ${v.problems.length - NAMED_IN_CONDITION} more` : '';
  return `backup ${name} is damaged: ${v.problems.length} of ${blobs.total + v.metadataChecked} blobs missing, of the wrong size or hashing `
    + `to another digest (${first}${more}); ${images.failed} of ${plural(images.total, 'image')} would not restore; ${read}${unmatched}`;
}

function brief(p: BlobProblem): string {
  if (p.problem === 'missing') return `${p.digest} is missing`;
  if (p.problem === 'wrongSize') return `${p.digest} is ${p.actualSize} bytes, not ${p.expectedSize}`;
  return `${p.digest} hashes to ${p.actualDigest}`;
}

/** Every problem's own message, as many as the event's message holds. */
function damageReport(backupName: string, v: VerifyResult): string {
  const name = JSON.stringify(backupName);
  if (v.bundleProblem) return `backup ${name} is damaged: ${v.bundleProblem}`;
  let text = `${plural(v.problems.length, 'damaged blob')} in backup ${name}`;
  const room = MAX_CONDITION_MESSAGE - 80;
  let shown = 0;
  for (const p of v.problems) {
    if (text.length + p.message.length + 2 > room) break;
    text += `${shown === 0 ? ': ' : '; '}${p.message}`;
    shown++;
  }
  return shown < v.problems.length ? `${text}; and ${v.problems.length - shown} more (the controller's log names every one)` : text;
}
