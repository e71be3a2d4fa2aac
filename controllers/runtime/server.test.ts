import { controllerMetrics } from './metrics.js';
import { startProbeServers } from './server.js';

describe('probe servers', () => {
  it.each([
    { ready: false, readyz: 503 },
    { ready: true, readyz: 200 },
  ])('answers /readyz with $readyz when ready is $ready, and serves metrics', async ({ ready, readyz }) => {
    const m = controllerMetrics();
    m.reconciles.inc({ controller: 'isb', result: 'success' }, 3);
    m.bytesUploaded.inc(1024);
    m.observePhases('ImageStreamsBackup', () => [{ status: { phase: 'Completed' } }, { status: { phase: 'Completed' } }, {}]);
    const s = await startProbeServers({ healthPort: 0, metricsPort: 0, host: '127.0.0.1', ready: () => ready, metrics: m.registry });
    try {
      const get = (port: number, path: string) => fetch(`http://127.0.0.1:${port}${path}`);
      expect((await get(s.healthPort, '/healthz')).status).toBe(200);
      expect((await get(s.healthPort, '/readyz')).status).toBe(readyz);
      expect((await get(s.healthPort, '/metrics')).status).toBe(404);
      const text = await (await get(s.metricsPort, '/metrics')).text();
      expect(text).toContain('imagestream_backup_reconciles_total{controller="isb",result="success"} 3');
      expect(text).toContain('imagestream_backup_bytes_uploaded_total 1024');
      expect(text).toContain('# TYPE imagestream_backup_runs_active gauge');
      expect(text).toContain('imagestream_backup_objects{kind="ImageStreamsBackup",phase="Completed"} 2');
      expect(text).toContain('imagestream_backup_objects{kind="ImageStreamsBackup",phase=""} 1');
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
      expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    } finally {
      await s.close();
    }
  });
});
