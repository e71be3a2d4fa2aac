import { StalledError, TransientError } from './errors.js';
import { backoffDelay, isExhausted, markExhausted, parseRetryAfter, retryableStatus, retrying } from './retry.js';

const policy = { attempts: 4, baseMs: 100, maxMs: 1_000 };

describe('the retry policy', () => {
  it.each([
    { attempt: 1, random: 0, want: 50 }, { attempt: 1, random: 1, want: 100 },
    { attempt: 3, random: 0, want: 200 }, { attempt: 3, random: 1, want: 400 },
    { attempt: 10, random: 1, want: 1_000 },
  ])('waits between half and all of base x 2^(attempt-1), capped: attempt $attempt, random $random -> $want ms', ({ attempt, random, want }) => {
    expect(backoffDelay(attempt, policy, undefined, () => random)).toBe(want);
  });

  it('waits at least what the server asked for (Retry-After), within the cap', () => {
    expect(backoffDelay(1, policy, 700, () => 0)).toBe(700);
    expect(backoffDelay(1, policy, 60_000, () => 0)).toBe(1_000);
  });

  it.each([
    { value: '3', want: 3_000 }, { value: 'Wed, 21 Oct 2015 07:28:05 GMT', now: Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'), want: 5_000 },
    { value: undefined, want: undefined }, { value: 'soon', want: undefined },
  ])('reads Retry-After $value', ({ value, now, want }) => {
    expect(parseRetryAfter(value, now)).toBe(want);
  });

  it.each([[408, true], [429, true], [500, true], [502, true], [503, true], [501, false], [404, false], [400, false], [200, false]])(
    'retries HTTP %i: %s', (status, want) => expect(retryableStatus(status)).toBe(want));

  it('tries a transient failure again up to the attempts, then gives up with its error', async () => {
    let calls = 0;
    const err = await retrying(async () => { calls++; throw new TransientError('Down', 'down'); }, { policy: { ...policy, baseMs: 1, maxMs: 2 } })
      .catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect(err).toMatchObject({ reason: 'Down' });
  });

  it('does not multiply tries: an error a request below already spent its tries on is not tried again above', async () => {
    let calls = 0;
    const spent = markExhausted(new TransientError('Down', 'down'));
    await expect(retrying(async () => { calls++; throw spent; }, { policy })).rejects.toBe(spent);
    expect(calls).toBe(1);
    // And what a retrying() gives up on is marked in turn, for the level above it.
    const outer = await retrying(async () => { throw new TransientError('Down', 'down'); }, { policy: { ...policy, baseMs: 1, maxMs: 2 } }).catch((e: unknown) => e);
    expect(isExhausted(outer)).toBe(true);
  });

  it('does not try a lasting failure again', async () => {
    let calls = 0;
    await expect(retrying(async () => { calls++; throw new StalledError('Gone', 'gone'); }, { policy })).rejects.toMatchObject({ reason: 'Gone' });
    expect(calls).toBe(1);
  });

  it('returns as soon as a try succeeds', async () => {
    let calls = 0;
    expect(await retrying(async () => { if (++calls < 3) throw new TransientError('Down', 'down'); return 'ok'; }, { policy: { ...policy, baseMs: 1 } })).toBe('ok');
    expect(calls).toBe(3);
  });

  it('stops waiting when the signal is aborted', async () => {
    const ac = new AbortController();
    const p = retrying(async () => { throw new TransientError('Down', 'down'); }, { policy: { attempts: 5, baseMs: 60_000, maxMs: 60_000 }, signal: ac.signal });
    ac.abort(new DOMException('stop', 'AbortError'));
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });
});
