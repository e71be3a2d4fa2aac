// The credential Secret is data written by whoever may write Secrets in the namespace, never
// code: every key but the allowlist is refused by name, before any request; nothing of the
// Secret is quoted back; a command it names never runs. Each case makes a Secret, an
// ImageStreamsBackup (or Restore) with an inline location on it and a real image to back up,
// and checks the reason, the message, the event, that no object was written under the case's
// prefix, and that no secret value shows in the status or the events.
import { existsSync } from 'node:fs';
import type { VeleroLocationSpec } from '../../pkg/api/index.js';
import { World, readyOf, table, type Case } from './world.js';

let world: World;
beforeAll(async () => {
  world = await World.start({ file: 'cred' });
}, 120_000);
afterAll(async () => {
  await world?.close();
});

/** A marker file that only a command run from the Secret would create. */
const marker = (w: World, id: string) => `/tmp/adversarial-credential-process-${w.run}-${id}`;

interface Refusal {
  namespace: 'admin' | 'tenant';
  /** The Secret's `cloud` key. */
  file: (w: World, id: string) => string;
  reason: string;
  says: RegExp;
  /** Words of the Secret that must never show in a status or an event. */
  secret?: string;
  location?: (l: VeleroLocationSpec) => VeleroLocationSpec;
}

/** Backs up a real image through a location whose Secret is `file`; the location must be refused. */
async function refusedBackup(w: World, id: string, r: Refusal): Promise<void> {
  const ns = r.namespace === 'admin' ? w.admin : w.tenant;
  const image = await w.push(`${ns}/app`, id);
  await w.secret(ns, `cred-${id}`, { cloud: r.file(w, id) });
  const location = w.location(id, (l) => ({ ...l, credential: { name: `cred-${id}`, key: 'cloud' } }));
  await w.createIsb(ns, id, {
    startBackup: true, backupLocation: { velero: r.location ? r.location(location) : location },
    imageStreams: [{ namespace: ns, name: 'app', dockerImageReferences: [{ dockerImageReference: w.reference(`${ns}/app`, image.digest), tags: ['v1'] }] }],
  });
  const isb = await w.isbReason(ns, id, r.reason);
  expect(isb.status?.phase).toBe('WaitingForStart');
  expect(readyOf(isb)?.message).toMatch(r.says);
  expect(isb.status?.conditions?.find((c) => c.type === 'BackupLocationAvailable')).toMatchObject({ status: 'False', reason: r.reason });
  const events = await w.events('ImageStreamsBackup', ns, id, ['BackupLocationUnavailable']);
  expect(events.find((e) => e.reason === 'BackupLocationUnavailable')?.message).toMatch(r.says);
  expect(await w.keys(id)).toEqual([]);
  if (r.secret) {
    expect(JSON.stringify(isb.status)).not.toContain(r.secret);
    expect(JSON.stringify(events)).not.toContain(r.secret);
  }
}

const staticKeys = (w: World) => `aws_access_key_id=${w.env.S3_ACCESS_KEY}\naws_secret_access_key=${w.env.S3_SECRET_KEY}\n`;

const refusals: Array<[string, Refusal]> = [
  ['credential_process (a command) is refused and never runs', {
    namespace: 'admin', reason: 'InvalidCredentials', says: /sets "credential_process" in profile "default", which imagestream-backup does not accept/,
    file: (w, id) => `[default]\ncredential_process = /bin/sh -c "touch ${marker(w, id)}; echo '{\\"Version\\":1}'"\n`,
  }],
  ['credential_process beside static keys is refused too', {
    namespace: 'tenant', reason: 'InvalidCredentials', says: /sets "credential_process" in profile "default"/,
    file: (w, id) => `[default]\n${staticKeys(w)}credential_process = /usr/bin/touch ${marker(w, id)}\n`,
  }],
  ['credential_source (the pod\'s own identity) is refused', {
    namespace: 'tenant', reason: 'InvalidCredentials', says: /sets "credential_source" in profile "default"/,
    file: () => '[default]\nrole_arn = arn:aws:iam::123456789012:role/admin\ncredential_source = Ec2InstanceMetadata\n',
  }],
  ['endpoint_url (requests elsewhere) is refused', {
    namespace: 'admin', reason: 'InvalidCredentials', says: /sets "endpoint_url" in profile "default"/,
    file: (w) => `[default]\n${staticKeys(w)}endpoint_url = https://attacker.example\n`,
  }],
  ['source_profile (chained roles) is refused', {
    namespace: 'tenant', reason: 'InvalidCredentials', says: /sets "source_profile" in profile "default"/,
    file: (w) => `[base]\n${staticKeys(w)}[default]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = base\n`,
  }],
  ['web identity outside an admin namespace is refused', {
    namespace: 'tenant', reason: 'InvalidCredentials', says: /assumes a role with web identity, which would use the controller's own service account token: only ImageStreamsBackups and ImageStreamsRestores in an admin namespace/,
    file: () => '[default]\nrole_arn = arn:aws:iam::123456789012:role/x\nweb_identity_token_file = /var/run/secrets/openshift/serviceaccount/token\n',
  }],
  ['a web identity token path off the allowlist is refused, even in the admin namespace', {
    namespace: 'admin', reason: 'InvalidCredentials', says: /web_identity_token_file "\/etc\/passwd" is not an allowed token path/,
    file: () => '[default]\nrole_arn = arn:aws:iam::123456789012:role/x\nweb_identity_token_file = /etc/passwd\n',
  }],
  ['a token path that climbs out of an allowed folder is refused', {
    namespace: 'admin', reason: 'InvalidCredentials', says: /web_identity_token_file ".*\/\.\.\/\.\.\/etc\/shadow" is not an allowed token path/,
    file: () => '[default]\nrole_arn = arn:aws:iam::123456789012:role/x\nweb_identity_token_file = /var/run/secrets/openshift/serviceaccount/../../etc/shadow\n',
  }],
  ['a Secret that is not an ini file is refused without quoting it', {
    namespace: 'tenant', reason: 'InvalidCredentials', says: /is not an AWS credentials file: line 1 is neither \[profile\] nor key = value/, secret: 'SEKRIT-json-value',
    file: () => '{"aws_access_key_id": "AKIA", "aws_secret_access_key": "SEKRIT-json-value"}\n',
  }],
  ['a key before any profile is refused without quoting it', {
    namespace: 'tenant', reason: 'InvalidCredentials', says: /line 1 comes before any \[profile\]/, secret: 'SEKRIT-orphan',
    file: () => 'aws_secret_access_key = SEKRIT-orphan\n[default]\n',
  }],
  ['a profile the location does not name is refused, naming the ones there are', {
    namespace: 'admin', reason: 'InvalidCredentials', says: /has no profile "backup" \(it has "default"\); set config\.profile/,
    file: (w) => `[default]\n${staticKeys(w)}`,
    location: (l) => ({ ...l, config: { ...l.config, profile: 'backup' } }),
  }],
  ['a profile with an access key but no secret key is refused', {
    namespace: 'tenant', reason: 'InvalidCredentials', says: /has neither aws_access_key_id with aws_secret_access_key nor role_arn with web_identity_token_file/,
    file: (w) => `[default]\naws_access_key_id=${w.env.S3_ACCESS_KEY}\n`,
  }],
  ['a location naming the Secret key __proto__ finds no key', {
    namespace: 'tenant', reason: 'CredentialKeyNotFound', says: /has no key "__proto__"/,
    file: (w) => `[default]\n${staticKeys(w)}`,
    location: (l) => ({ ...l, credential: { name: l.credential!.name, key: '__proto__' } }),
  }],
  ['a location naming the Secret key constructor finds no key', {
    namespace: 'admin', reason: 'CredentialKeyNotFound', says: /has no key "constructor"/,
    file: (w) => `[default]\n${staticKeys(w)}`,
    location: (l) => ({ ...l, credential: { name: l.credential!.name, key: 'constructor' } }),
  }],
];

const refusalCases: Case[] = refusals.map(([behaviour, r], i) => ({
  behaviour,
  run: async (w) => {
    const id = `refused-${i}`;
    await refusedBackup(w, id, r);
    expect(existsSync(marker(w, id))).toBe(false);
  },
}));

const otherCases: Case[] = [
  {
    behaviour: 'a restore through a Secret with credential_process fails without running it',
    run: async (w) => {
      const id = 'isr-process';
      await w.secret(w.tenant, `cred-${id}`, { cloud: `[default]\ncredential_process = /usr/bin/touch ${marker(w, id)}\n` });
      await w.createIsr(w.tenant, id, {
        imageStreamsBackupReference: { name: 'anything' },
        backupLocation: { velero: w.location(id, (l) => ({ ...l, credential: { name: `cred-${id}`, key: 'cloud' } })) },
      });
      const isr = await w.finishedIsr(w.tenant, id);
      expect(isr.status?.phase).toBe('Failed');
      expect(readyOf(isr)?.reason).toBe('InvalidCredentials');
      expect(isr.status?.message).toMatch(/sets "credential_process" in profile "default"/);
      expect(existsSync(marker(w, id))).toBe(false);
    },
  },
  {
    behaviour: 'a command in a profile the location does not use is never run, and the backup works',
    run: async (w) => {
      const id = 'other-profile';
      const ns = w.tenant;
      const image = await w.push(`${ns}/app`, id);
      await w.secret(ns, `cred-${id}`, { cloud: `[evil]\ncredential_process = /usr/bin/touch ${marker(w, id)}\n[default]\n${staticKeys(w)}` });
      await w.createIsb(ns, id, {
        startBackup: true, backupLocation: { velero: w.location(id, (l) => ({ ...l, credential: { name: `cred-${id}`, key: 'cloud' } })) },
        imageStreams: [{ namespace: ns, name: 'app', dockerImageReferences: [{ dockerImageReference: w.reference(`${ns}/app`, image.digest), tags: ['v1'] }] }],
      });
      expect((await w.finishedIsb(ns, id)).status?.phase).toBe('Completed');
      expect(existsSync(marker(w, id))).toBe(false);
    },
  },
  {
    // The API server stores the key; @kubernetes/client-node's deserializer assigns keys to a
    // plain object, where "__proto__" is dropped: the controller sees no such key (safe, but a
    // Secret written so cannot be used; see the report).
    behaviour: 'a Secret key named __proto__ never reaches a prototype: the location waits for the key',
    run: async (w) => {
      const id = 'proto-key';
      const ns = w.tenant;
      const image = await w.push(`${ns}/app`, id);
      await w.kubectlApply(JSON.parse(`{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cred-${id}", "namespace": "${ns}"},
        "stringData": {"__proto__": ${JSON.stringify(`[default]\n${staticKeys(w)}`)}}}`));
      await w.createIsb(ns, id, {
        startBackup: true, backupLocation: { velero: w.location(id, (l) => ({ ...l, credential: { name: `cred-${id}`, key: '__proto__' } })) },
        imageStreams: [{ namespace: ns, name: 'app', dockerImageReferences: [{ dockerImageReference: w.reference(`${ns}/app`, image.digest), tags: ['v1'] }] }],
      });
      const isb = await w.isbReason(ns, id, 'CredentialKeyNotFound');
      expect(readyOf(isb)?.message).toMatch(/has no key "__proto__"/);
      expect(await w.keys(id)).toEqual([]);
    },
  },
  {
    behaviour: 'a profile named __proto__ is an ordinary profile',
    run: async (w) => {
      const id = 'proto-profile';
      const ns = w.admin;
      const image = await w.push(`${ns}/app`, id);
      await w.secret(ns, `cred-${id}`, { cloud: `[__proto__]\n${staticKeys(w)}` });
      await w.createIsb(ns, id, {
        startBackup: true,
        backupLocation: { velero: w.location(id, (l) => ({ ...l, credential: { name: `cred-${id}`, key: 'cloud' }, config: { ...l.config, profile: '__proto__' } })) },
        imageStreams: [{ namespace: ns, name: 'app', dockerImageReferences: [{ dockerImageReference: w.reference(`${ns}/app`, image.digest), tags: ['v1'] }] }],
      });
      expect((await w.finishedIsb(ns, id)).status?.phase).toBe('Completed');
    },
  },
];

table('credential Secrets: refused keys and shapes', 'refusals', () => world, refusalCases);
table('credential Secrets: what is allowed stays safe', 'allowed', () => world, otherCases);
