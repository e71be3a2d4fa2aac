import { StalledError, TransientError } from '../../pkg/errors.js';
import { preflight } from './runRestore.js';

const registry = (answer: () => Promise<boolean>) => ({ hasBlob: answer });

describe('preflight', () => {
  it('throws a registry outage, so the run is retried instead of failing every image', async () => {
    const outage = new TransientError('RegistryUnavailable', 'cannot reach registry:5000: ECONNREFUSED');
    await expect(preflight(registry(() => Promise.reject(outage)), new AbortController().signal)).rejects.toBe(outage);
  });

  it.each([
    { name: 'an answer', answer: () => Promise.resolve(false) },
    { name: 'a refusal, which each image then reports with its repository', answer: () => Promise.reject(new StalledError('RegistryUnauthorized', 'denied')) },
  ])('lets the run go on after $name', async ({ answer }) => {
    await expect(preflight(registry(answer), new AbortController().signal)).resolves.toBeUndefined();
  });

  it('does not ask the registry once the run is aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stopping'));
    let asked = false;
    await expect(preflight(registry(async () => { asked = true; return false; }), ac.signal)).rejects.toThrow('stopping');
    expect(asked).toBe(false);
  });
});
