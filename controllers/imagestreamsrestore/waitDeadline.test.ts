import { waitDecision } from './waitDeadline.js';

const created = new Date('2024-01-01T00:00:00Z');
const at = (seconds: number) => new Date(created.getTime() + seconds * 1000);

describe('waitDecision', () => {
  it.each([
    { name: 'retries after a second right after creation', now: 0, wait: 600, retryMs: 1_000 },
    { name: 'retries after half the time waited so far', now: 30, wait: 600, retryMs: 15_000 },
    { name: 'never waits more than a minute between tries', now: 400, wait: 600, retryMs: 60_000 },
    { name: 'tries once more exactly at the deadline', now: 590, wait: 600, retryMs: 10_000 },
    { name: 'does not wait past a short deadline', now: 2.5, wait: 3, retryMs: 500 },
  ])('$name', ({ now, wait, retryMs }) => {
    expect(waitDecision(created, at(now), wait * 1000)).toEqual({ action: 'retry', retryAfterMs: retryMs, deadline: at(wait) });
  });

  it.each([
    { name: 'fails at the deadline', now: 600, wait: 600 },
    { name: 'fails after the deadline (a controller that was down meanwhile)', now: 3600, wait: 600 },
    { name: 'fails at once when no wait is allowed', now: 0, wait: 0 },
  ])('$name', ({ now, wait }) => {
    expect(waitDecision(created, at(now), wait * 1000)).toEqual({ action: 'fail', deadline: at(wait) });
  });
});
