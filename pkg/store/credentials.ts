// The BSL's credential Secret holds an AWS shared-credentials file. The SDK parses it, so
// every form Velero accepts works the same here: static keys with a session token, role_arn
// with web_identity_token_file (STS), credential_process.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fromIni } from '@aws-sdk/credential-provider-ini';
import { StalledError, errorMessage } from '../errors.js';

type Provider = ReturnType<typeof fromIni>;
type Identity = Awaited<ReturnType<Provider>>;

export interface ResolvedCredentials {
  credentials: Identity | Provider;
  /** Removes the private copy of the file when the credentials had to keep one (refreshable). */
  dispose(): Promise<void>;
}

export async function credentialsFromFile(content: string, profile: string, tmpRoot = tmpdir()): Promise<ResolvedCredentials> {
  // The SDK reads files only: a private directory holds the copy for as long as it is needed.
  const dir = await mkdtemp(path.join(tmpRoot, 'isb-credentials-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const filepath = path.join(dir, 'credentials');
    await writeFile(filepath, content, { mode: 0o600 });
    // configFilepath points at nothing: the controller's own ~/.aws/config must not leak in.
    const provider = fromIni({ filepath, configFilepath: path.join(dir, 'config'), profile, ignoreCache: true });
    let first: Identity;
    try {
      first = await provider();
    } catch (err) {
      // The SDK's message names the profile and the file's shape, never its values.
      throw new StalledError('InvalidCredentials', `the backup location's credential secret has no usable profile `
        + `${JSON.stringify(profile)} (an AWS shared-credentials file with aws_access_key_id and aws_secret_access_key, `
        + `or role_arn with web_identity_token_file, is expected): ${redact(errorMessage(err))}`);
    }
    if (first.expiration === undefined) {
      await dispose();
      return { credentials: first, dispose: async () => {} };
    }
    return { credentials: provider, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

// The SDK's messages are about profiles and keys' names; cut anything that looks like a value anyway.
function redact(message: string): string {
  return message.replace(/(aws_[a-z_]+\s*=\s*)\S+/gi, '$1***').slice(0, 300);
}
