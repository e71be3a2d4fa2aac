import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentialsFromFile } from './credentials.js';

// A temporary root of its own: other test files open stores in parallel.
let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'credentials-test-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const file = `[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default-secret-value

[backup]
aws_access_key_id=AKIABACKUP
aws_secret_access_key=backup-secret-value
aws_session_token=backup-token
`;

async function leftovers(): Promise<string[]> {
  return readdir(root);
}

describe('credentialsFromFile', () => {
  test.each([
    ['default', { accessKeyId: 'AKIADEFAULT', secretAccessKey: 'default-secret-value' }],
    ['backup', { accessKeyId: 'AKIABACKUP', secretAccessKey: 'backup-secret-value', sessionToken: 'backup-token' }],
  ])('reads static keys of profile %s, and keeps no copy of the file', async (profile, expected) => {
    const resolved = await credentialsFromFile(file, profile, root);
    expect(resolved.credentials).toMatchObject(expected);
    expect(await leftovers()).toEqual([]);
    await resolved.dispose();
  });

  test.each([
    ['a profile the file lacks', file, 'absent'],
    ['a profile without keys', '[default]\nregion = us-east-1\n', 'default'],
    ['an empty file', '', 'default'],
  ])('%s is refused as InvalidCredentials, naming the profile and no secret', async (_name, content, profile) => {
    const err = await credentialsFromFile(content, profile, root).then(() => undefined, (e: unknown) => e as Error & { reason: string });
    expect(err).toMatchObject({ reason: 'InvalidCredentials', message: expect.stringContaining(`"${profile}"`) });
    expect(err?.message).not.toMatch(/secret-value|AKIA/);
    expect(await leftovers()).toEqual([]);
  });

  test('refreshable credentials (credential_process) keep the private copy until disposed', async () => {
    const expiration = new Date(Date.now() + 3600_000).toISOString();
    const json = JSON.stringify({ Version: 1, AccessKeyId: 'AKIAPROCESS', SecretAccessKey: 'process-secret-value', SessionToken: 't', Expiration: expiration });
    const command = `${process.execPath} -e 'console.log(process.argv[1])' '${json}'`;
    const resolved = await credentialsFromFile(`[default]\ncredential_process = ${command}\n`, 'default', root);
    expect(typeof resolved.credentials).toBe('function');
    expect(await leftovers()).toHaveLength(1);
    const provider = resolved.credentials as () => Promise<{ accessKeyId: string }>;
    expect(await provider()).toMatchObject({ accessKeyId: 'AKIAPROCESS' });
    await resolved.dispose();
    expect(await leftovers()).toEqual([]);
  });
});
