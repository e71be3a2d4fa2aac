import { ConfigError, DEFAULT_INTERNAL_REGISTRY, parseConfig, readRegistryPassword, type ConfigSources } from './config.js';

const sa = '/sa';
const inPod = { '/sa/namespace': 'openshift-adp\n', '/sa/token': 'tok', '/sa/service-ca.crt': 'PEM' };
const src = (env: Record<string, string | undefined>, argv: string[] = [], files: Record<string, string> = {}): ConfigSources => ({
  argv, env, saDir: sa, exists: (f) => f in files, readFile: (f) => files[f] ?? '',
});

describe('parseConfig', () => {
  it('defaults everything from the pod service account', () => {
    const c = parseConfig(src({}, [], inPod));
    expect(c).toMatchObject({
      watchNamespaces: ['openshift-adp'], internalRegistry: DEFAULT_INTERNAL_REGISTRY, registryCaFile: '/sa/service-ca.crt',
      registryUser: 'serviceaccount', registryPassword: { file: '/sa/token' }, metricsPort: 8080, healthPort: 8081,
      maxConcurrentReconciles: 4, maxConcurrentRuns: 2, progressIntervalMs: 2000, restoreBundleWaitSeconds: 600, backupReferrers: true,
      veleroSyncCheckMs: 300_000,
    });
    expect(readRegistryPassword(c, (f) => inPod[f as keyof typeof inPod] ?? '')).toBe('tok');
  });

  it.each([
    { name: 'reads settings from the environment', env: { WATCH_NAMESPACES: 'a, b', INTERNAL_REGISTRY: '127.0.0.1:5000', METRICS_PORT: '0' }, argv: [], want: { watchNamespaces: ['a', 'b'], internalRegistry: '127.0.0.1:5000', metricsPort: 0 } },
    { name: 'lets a flag win over the environment', env: { WATCH_NAMESPACES: 'a' }, argv: ['--watch-namespaces=c', '--health-port', '9000'], want: { watchNamespaces: ['c'], healthPort: 9000 } },
    { name: 'takes POD_NAMESPACE when no namespace is listed', env: { POD_NAMESPACE: 'mine' }, argv: [], want: { watchNamespaces: ['mine'] } },
    { name: 'takes the password from the environment over the token file', env: { WATCH_NAMESPACES: 'a', REGISTRY_PASSWORD: 'pw' }, argv: [], want: { registryPassword: { value: 'pw' } } },
    { name: 'sets per-run concurrency only when asked', env: { WATCH_NAMESPACES: 'a', BLOB_CONCURRENCY: '8' }, argv: [], want: { blobConcurrency: 8 } },
    { name: 'takes the upload buffer in MiB', env: { WATCH_NAMESPACES: 'a' }, argv: ['--upload-buffer-mib=128'], want: { uploadBufferMiB: 128 } },
    { name: 'lets a restore fail at once when it may not wait', env: { WATCH_NAMESPACES: 'a', RESTORE_BUNDLE_WAIT_SECONDS: ' 0 ' }, argv: [], want: { restoreBundleWaitSeconds: 0 } },
    { name: 'turns referrers off', env: { WATCH_NAMESPACES: 'a', BACKUP_REFERRERS: 'false' }, argv: [], want: { backupReferrers: false } },
    { name: 'lists the token files web identity may read', env: { WATCH_NAMESPACES: 'a', WEB_IDENTITY_TOKEN_FILES: '/var/run/secrets/sts/token, /t2' }, argv: [], want: { transport: { webIdentityTokenFiles: ['/var/run/secrets/sts/token', '/t2'] } } },
    { name: 'takes the Velero sync check period in seconds', env: { WATCH_NAMESPACES: 'a' }, argv: ['--velero-sync-check-seconds=2'], want: { veleroSyncCheckMs: 2000 } },
    { name: 'takes the restore wait from its flag', env: { WATCH_NAMESPACES: 'a', RESTORE_BUNDLE_WAIT_SECONDS: '5' }, argv: ['--restore-bundle-wait-seconds', '30'], want: { restoreBundleWaitSeconds: 30 } },
  ])('$name', ({ env, argv, want }) => {
    expect(parseConfig(src(env, argv, inPod))).toMatchObject(want);
  });

  it.each([
    { name: 'no namespace outside a pod', env: {}, argv: [], message: /no namespace to watch/ },
    { name: 'a registry with a scheme', env: { WATCH_NAMESPACES: 'a', INTERNAL_REGISTRY: 'https://r:5000' }, argv: [], message: /host\[:port\]/ },
    { name: 'a bad number', env: { WATCH_NAMESPACES: 'a', MAX_CONCURRENT_RUNS: '0' }, argv: [], message: /MAX_CONCURRENT_RUNS/ },
    { name: 'an unknown flag', env: { WATCH_NAMESPACES: 'a' }, argv: ['--registry-password=x'], message: /unknown flag "--registry-password"/ },
    { name: 'a bad namespace', env: { WATCH_NAMESPACES: 'Bad_NS' }, argv: [], message: /not a namespace name/ },
    { name: 'a relative token file', env: { WATCH_NAMESPACES: 'a', WEB_IDENTITY_TOKEN_FILES: 'token' }, argv: [], message: /WEB_IDENTITY_TOKEN_FILES.*absolute path/ },
    { name: 'a token file path that climbs', env: { WATCH_NAMESPACES: 'a', WEB_IDENTITY_TOKEN_FILES: '/var/../etc/shadow' }, argv: [], message: /WEB_IDENTITY_TOKEN_FILES.*absolute path/ },
    { name: 'a bad log level', env: { WATCH_NAMESPACES: 'a', LOG_LEVEL: 'loud' }, argv: [], message: /LOG_LEVEL/ },
    { name: 'an upload buffer too small for one large layer', env: { WATCH_NAMESPACES: 'a', UPLOAD_BUFFER_MIB: '16' }, argv: [], message: /UPLOAD_BUFFER_MIB.*integer >= 24/ },
    { name: 'a Velero sync check of 0 s', env: { WATCH_NAMESPACES: 'a', VELERO_SYNC_CHECK_SECONDS: '0' }, argv: [], message: /VELERO_SYNC_CHECK_SECONDS.*integer >= 1/ },
    ...['-1', '1.5', '10m'].map((v) => ({ name: `a restore wait of ${v}`, env: { WATCH_NAMESPACES: 'a', RESTORE_BUNDLE_WAIT_SECONDS: v }, argv: [], message: /RESTORE_BUNDLE_WAIT_SECONDS.*integer >= 0/ })),
  ])('refuses $name', ({ env, argv, message }) => {
    expect(() => parseConfig(src(env, argv))).toThrow(ConfigError);
    expect(() => parseConfig(src(env, argv))).toThrow(message);
  });
});

describe('leader election settings', () => {
  it('is on by default, in the controller\'s own namespace, with client-go\'s timings', () => {
    expect(parseConfig(src({ WATCH_NAMESPACES: 'a,b' }, [], inPod)).leaderElection).toEqual({
      enabled: true, namespace: 'openshift-adp', name: 'imagestream-backup', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000,
    });
  });

  it.each([
    { name: 'can be turned off by flag', argv: ['--leader-elect=false'], want: { enabled: false } },
    { name: 'takes its Lease name and namespace', argv: ['--leader-election-id', 'x', '--leader-election-namespace', 'ops'], want: { name: 'x', namespace: 'ops' } },
    { name: 'takes shorter timings', argv: ['--lease-duration-seconds=4', '--renew-deadline-seconds=3', '--retry-period-seconds=1'], want: { leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 1000 } },
  ])('$name', ({ argv, want }) => {
    expect(parseConfig(src({ WATCH_NAMESPACES: 'a' }, argv, inPod)).leaderElection).toMatchObject(want);
  });

  it.each([
    { name: 'a renew deadline as long as the lease', argv: ['--lease-duration-seconds=10'], message: /RENEW_DEADLINE_SECONDS must be less/ },
    { name: 'a retry period as long as the renew deadline', argv: ['--retry-period-seconds=10'], message: /RETRY_PERIOD_SECONDS must be less/ },
    { name: 'a flag without its value', argv: ['--leader-elect'], message: /--leader-elect needs a value/ },
    { name: 'a positional argument', argv: ['backup'], message: /Unexpected argument/ },
  ])('refuses $name', ({ argv, message }) => {
    expect(() => parseConfig(src({ WATCH_NAMESPACES: 'a' }, argv, inPod))).toThrow(message);
  });
});
