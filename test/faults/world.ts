// What every fault test file shares: the local stack, the suite's own toxiproxy process, and
// clients of its own (Kubernetes, S3, crane, the fixtures' registry client) that go to the
// servers directly, never through a fault.
import { Crane } from '../datapath-helpers.js';
import { TestBucket, TestCluster } from '../e2e/cluster.js';
import { fixtureRegistryFromEnv, type FixtureRegistry } from '../fixture/images.js';
import { loadStackEnv, type StackEnv } from '../stackEnv.js';
import { ToxiproxyServer } from '../fixture/toxiproxy.js';

export interface FaultWorld {
  env: StackEnv;
  cluster: TestCluster;
  bucket: TestBucket;
  reg: FixtureRegistry;
  crane: Crane;
  toxiproxy: ToxiproxyServer;
  close(): Promise<void>;
}

export async function openWorld(env: StackEnv = loadStackEnv()): Promise<FaultWorld> {
  const toxiproxy = await ToxiproxyServer.start(env.STACK_BIN);
  const bucket = new TestBucket(env);
  const crane = await Crane.login(env);
  return {
    env, cluster: new TestCluster(env), bucket, reg: fixtureRegistryFromEnv(env), crane, toxiproxy,
    close: async () => {
      await toxiproxy.stop();
      await crane.close();
      bucket.close();
    },
  };
}
