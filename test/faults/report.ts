// One line per case in a fixed format, so the table of issue 12's "Done means" can be built from
// CI output: `grep '^fault-result: ' | sed 's/^fault-result: //'` gives one JSON object a line.

export interface FaultResult {
  case: string;
  fault: string;
  where: 'backup' | 'restore';
  /** The phase the object ended in (or was in when the wait gave up). */
  outcome: string;
  /** From the end of the fault (or the moment it struck, for a cut) to the object's final phase. */
  recoverSeconds: number | null;
  /**
   * Requests that reached the fault proxy of the faulty server while the fault lasted; for a
   * one-off fault (a cut, a stall), from the fault to the final phase.
   */
  requestsDuringFault: number | null;
  /** Connections the controller opened to the faulty server, over the same window. */
  connectionsDuringFault: number | null;
  bytes: {
    /** Unique bytes the run had to move (layers for a backup; layers and configs for a restore). */
    unique: number;
    /** status.progress.bytes of the final run. */
    statusDone: number;
    statusSkipped: number;
    /** Request body bytes the target server (MinIO or the registry) received for blobs. */
    serverReceived: number;
    /** serverReceived - unique: what was sent more than once. */
    uploadedAgain: number;
  };
  /** Whether the second, healthy object reached Completed while the fault lasted. */
  healthyCompletedDuringFault: boolean;
  detail?: string;
}

export function report(r: FaultResult): void {
  console.log(`fault-result: ${JSON.stringify(r)}`);
}
