// Run as a process of its own by verify.test.ts: verifies one backup and prints its peak RSS,
// so that nothing the test process did before (pushing and backing up the layer) blurs it.
import { verifyBackup } from '../pkg/verify/index.js';
import { openStackStore } from './datapath-helpers.js';
import { loadStackEnv } from './stackEnv.js';

const [prefix, backupName] = process.argv.slice(2) as [string, string];
const store = await openStackStore(loadStackEnv(), prefix);
const result = await verifyBackup(store, backupName);
await store.close();
process.stdout.write(JSON.stringify({ intact: result.intact, bytes: result.progress.bytes.done, maxRss: process.resourceUsage().maxRSS * 1024 }));
