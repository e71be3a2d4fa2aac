import { credentialsFromFile, parseIni, type CredentialPolicy } from './credentials.js';

const file = `[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default-secret-value

[profile backup]
aws_access_key_id=AKIABACKUP
aws_secret_access_key=backup-secret-value
aws_session_token=backup-token
region = eu-west-1
`;

const staticOnly: CredentialPolicy = { allowWebIdentity: false, allowedTokenFiles: ['/allowed/token'] };
const admin: CredentialPolicy = { ...staticOnly, allowWebIdentity: true };

describe('credentialsFromFile', () => {
  it.each([
    { profile: 'default', want: { credentials: { accessKeyId: 'AKIADEFAULT', secretAccessKey: 'default-secret-value' } } },
    { profile: 'backup', want: { credentials: { accessKeyId: 'AKIABACKUP', secretAccessKey: 'backup-secret-value', sessionToken: 'backup-token' }, region: 'eu-west-1' } },
  ])('reads the static keys of profile $profile, in memory', ({ profile, want }) => {
    expect(credentialsFromFile(file, profile, staticOnly)).toEqual(want);
  });

  it('gives web identity to an admin object when its token file is an allowed path', () => {
    const r = credentialsFromFile('[default]\nrole_arn = arn:aws:iam::1:role/r\nweb_identity_token_file = /allowed/token\n', 'default', admin);
    expect(typeof r.credentials).toBe('function');
  });

  it.each([
    { name: 'credential_process (a command run in the controller)', content: '[default]\ncredential_process = /bin/sh -c "id"\n', message: /sets "credential_process" in profile "default"/ },
    { name: 'credential_source (the pod\'s own identity)', content: '[default]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Ec2InstanceMetadata\n', message: /sets "credential_source"/ },
    { name: 'endpoint_url (requests sent elsewhere)', content: `${file}\n[default]\nendpoint_url = https://evil.example\n`, message: /sets "endpoint_url"/ },
    { name: 'source_profile chains', content: '[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = other\n', message: /sets "source_profile"/ },
    { name: 'a __proto__ key', content: '[default]\n__proto__ = x\naws_access_key_id=a\naws_secret_access_key=b\n', message: /sets "__proto__"/ },
    { name: 'web identity outside an admin namespace', content: '[default]\nrole_arn = arn:aws:iam::1:role/r\nweb_identity_token_file = /allowed/token\n', message: /only ImageStreamsBackups and ImageStreamsRestores in an admin namespace/ },
    { name: 'a token file on another path', content: '[default]\nrole_arn = arn:aws:iam::1:role/r\nweb_identity_token_file = /etc/shadow\n', policy: admin, message: /"\/etc\/shadow" is not an allowed token path/ },
    { name: 'a profile the file lacks', content: file, profile: 'absent', message: /no profile "absent" \(it has "default", "backup"\)/ },
    { name: 'a profile without keys', content: '[default]\nregion = us-east-1\n', message: /neither aws_access_key_id/ },
    { name: 'an empty file', content: '', message: /no profile "default" \(it has none\)/ },
    { name: 'something that is not an ini file', content: '{"aws_secret_access_key": "json-secret-value"}', message: /not an AWS credentials file: line 1/ },
    { name: 'a key before any profile', content: 'aws_access_key_id = AKIAFIRST\n[default]\n', message: /line 1 comes before any \[profile\]/ },
  ])('refuses $name as InvalidCredentials, naming the key and no value', ({ content, message, profile, policy }) => {
    let err: (Error & { reason?: string }) | undefined;
    try {
      credentialsFromFile(content, profile ?? 'default', policy ?? staticOnly);
    } catch (e) {
      err = e as Error & { reason?: string };
    }
    expect(err?.reason).toBe('InvalidCredentials');
    expect(err?.message).toMatch(message);
    expect(err?.message).not.toMatch(/secret-value|AKIA|evil|json-secret/);
  });
});

describe('parseIni', () => {
  it('keeps profiles and keys in Maps (no prototype on a name from a Secret)', () => {
    const p = parseIni('[constructor]\nToString = x\n; comment\n# comment\n');
    expect(p.get('constructor')?.get('tostring')).toBe('x');
    expect(p.get('__proto__')).toBeUndefined();
  });
});
