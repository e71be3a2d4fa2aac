// A registry that lies. The controller's INTERNAL_REGISTRY is a proxy in front of the stack's
// registry (tamperingProxy.ts) that passes everything through except what a case tampers with:
// a manifest or a layer answered with other bytes than the digest asked for, a manifest too
// large to hold, a token realm on another host, a blob redirected to another host. Nothing that
// does not match its digest may be stored, and the registry's credentials go to the registry
// origin only: the realm and the redirect target must see none of them.
import { loadStackEnv } from '../stackEnv.js';
import { request } from '../fixture/http.js';
import { MediaTypes, pushBytes, putManifest, type PushedImage } from '../fixture/images.js';
import { LAYOUT, World, pkiDir, table, type Case } from './world.js';
import { TamperingProxy, type Recorded } from './tamperingProxy.js';
import { hexOf, makeImage } from './bundleBuilder.js';

let world: World;
let proxy: TamperingProxy;
/** Another host (localhost, another port): a token realm, a redirect target. */
let elsewhere: TamperingProxy;

beforeAll(async () => {
  const env = loadStackEnv();
  proxy = await TamperingProxy.start(pkiDir(env), env.REGISTRY);
  elsewhere = await TamperingProxy.start(pkiDir(env), undefined, 'localhost');
  world = await World.start({ file: 'registry', controllerEnv: { INTERNAL_REGISTRY: proxy.address } });
}, 120_000);
afterAll(async () => {
  await world?.close();
  await proxy?.close();
  await elsewhere?.close();
});

const path = (url: string) => url.split('?')[0]!;

/** Backs up one image of `repo` (in the admin namespace) and returns the final status. */
async function backUp(w: World, id: string, repo: string, digest: string) {
  await w.createIsb(w.admin, id, {
    startBackup: true, backupLocation: { velero: w.location(id) },
    imageStreams: [{ namespace: w.admin, name: repo.split('/')[1]!, dockerImageReferences: [{ dockerImageReference: w.reference(repo, digest), tags: ['v1'] }] }],
  });
  return w.finishedIsb(w.admin, id);
}

/** Nothing of the failed image is in the location: no layer, no bundle. */
async function nothingStored(w: World, id: string): Promise<void> {
  expect(await w.keys(id)).toEqual([]);
}

/** No request a foreign host saw carries the registry's credentials, in any form. */
function noCredentials(requests: Recorded[], w: World): void {
  const basic = Buffer.from(`${w.env.REGISTRY_USER}:${w.env.REGISTRY_PASSWORD}`).toString('base64');
  for (const r of requests) {
    expect(r.headers.authorization).toBeUndefined();
    const seen = JSON.stringify(r);
    expect(seen).not.toContain(w.env.REGISTRY_PASSWORD);
    expect(seen).not.toContain(basic);
  }
}

async function blobBytes(w: World, repo: string, digest: string): Promise<Buffer> {
  return (await request(w.reg, 'GET', `/v2/${repo}/blobs/${digest}`)).body;
}

const cases: Case[] = [
  {
    behaviour: 'a manifest answered with another image\'s bytes is refused; nothing is stored',
    run: async (w) => {
      const repo = `${w.admin}/swapped`;
      const asked = await w.push(repo, 'swapped-a');
      const other = await w.push(repo, 'swapped-b');
      proxy.on((m, u) => m === 'GET' && path(u) === `/v2/${repo}/manifests/${asked.digest}`, (_req, res) => {
        res.writeHead(200, { 'content-type': other.mediaType, 'docker-content-digest': other.digest, 'content-length': other.manifest.length }).end(other.manifest);
      });
      const isb = await backUp(w, 'swapped', repo, asked.digest);
      expect(isb.status?.phase).toBe('Failed');
      expect(isb.status?.failures?.[0]?.message).toContain(other.digest);
      expect(isb.status?.failures?.[0]?.message).toMatch(new RegExp(`manifest ${repo}@${asked.digest}`));
      await nothingStored(w, 'swapped');
    },
  },
  {
    behaviour: 'a manifest whose Docker-Content-Digest names another digest is refused',
    run: async (w) => {
      const repo = `${w.admin}/header`;
      const asked = await w.push(repo, 'header-a');
      const other = await w.push(repo, 'header-b');
      proxy.on((m, u) => m === 'GET' && path(u) === `/v2/${repo}/manifests/${asked.digest}`, async (_req, res, forward) => {
        const real = await forward();
        res.writeHead(real.status, { ...real.headers, 'docker-content-digest': other.digest }).end(real.body);
      });
      const isb = await backUp(w, 'header', repo, asked.digest);
      expect(isb.status?.phase).toBe('Failed');
      expect(isb.status?.failures?.[0]?.message).toContain(`${other.digest} (Docker-Content-Digest)`);
      await nothingStored(w, 'header');
    },
  },
  {
    behaviour: 'a layer answered with another layer of the same size is not stored',
    run: async (w) => {
      const repo = `${w.admin}/blobswap`;
      const asked = await w.push(repo, 'blobswap-a');
      const other: PushedImage = await w.push(repo, 'blobswap-b');
      const wrong = await blobBytes(w, repo, other.layers[0]!.digest);
      expect(wrong.length).toBe(asked.layers[0]!.size);
      proxy.on((m, u) => m === 'GET' && path(u) === `/v2/${repo}/blobs/${asked.layers[0]!.digest}`, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': wrong.length }).end(wrong);
      });
      const isb = await backUp(w, 'blobswap', repo, asked.digest);
      expect(isb.status?.phase).toBe('Failed');
      expect(isb.status?.failures?.[0]?.message).toMatch(new RegExp(`${asked.layers[0]!.digest}.*${other.layers[0]!.digest}|digest`));
      const keys = await w.keys('blobswap');
      expect(keys).not.toContain(`${w.prefix('blobswap')}/${LAYOUT}blobs/sha256/${hexOf(asked.layers[0]!.digest)}`);
      expect(keys.filter((k) => k.includes('/backups/'))).toEqual([]);
    },
  },
  {
    behaviour: 'a manifest larger than the 4 MiB limit is refused without being read whole',
    run: async (w) => {
      const repo = `${w.admin}/huge`;
      const asked = await w.push(repo, 'huge');
      const huge = Buffer.alloc(64 * 1024 * 1024, ' ');
      proxy.on((m, u) => m === 'GET' && path(u) === `/v2/${repo}/manifests/${asked.digest}`, (_req, res) => {
        // No length: the limit must hold while reading, not only on the header.
        res.writeHead(200, { 'content-type': MediaTypes.ociManifest });
        res.end(huge);
      });
      const isb = await backUp(w, 'huge', repo, asked.digest);
      expect(isb.status?.phase).toBe('Failed');
      expect(isb.status?.failures?.[0]?.message).toMatch(/response exceeds the 4194304 bytes limit/);
      await nothingStored(w, 'huge');
    },
  },
  {
    behaviour: 'a token realm on another host is asked anonymously: the credentials never reach it',
    run: async (w) => {
      const repo = `${w.admin}/realm`;
      const asked = await w.push(repo, 'realm');
      const token = `realm-token-${w.run}`;
      elsewhere.on((m, u) => m === 'GET' && path(u) === '/token', (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
      });
      proxy.on((_m, u) => u.startsWith(`/v2/${repo}/`), (_req, res) => {
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="https://${elsewhere.address}/token",service="evil",scope="repository:${repo}:pull"`,
          'content-type': 'application/json',
        }).end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      });
      const isb = await backUp(w, 'realm', repo, asked.digest);
      expect(isb.status?.phase).toBe('Failed');
      expect(isb.status?.failures?.[0]?.message).toMatch(new RegExp(`registry ${proxy.address} refused the credentials`));
      const realmRequests = elsewhere.received((r) => path(r.url) === '/token');
      expect(realmRequests.length).toBeGreaterThan(0);
      noCredentials(realmRequests, w);
      // The realm's token went where a token goes, the registry origin.
      expect(proxy.received((r) => r.url.startsWith(`/v2/${repo}/`) && r.headers.authorization === `Bearer ${token}`).length).toBeGreaterThan(0);
      await nothingStored(w, 'realm');
    },
  },
  {
    behaviour: 'a layer redirected to another host is read from there without the credentials',
    run: async (w) => {
      const repo = `${w.admin}/redirect`;
      const image = makeImage(`${w.run}-redirect`, 32 * 1024);
      await pushBytes(w.reg, repo, image.layer, MediaTypes.ociLayer);
      await pushBytes(w.reg, repo, image.config, MediaTypes.ociConfig);
      await putManifest(w.reg, repo, image.digest, image.manifest, MediaTypes.ociManifest);
      const blobPath = `/blobs/${hexOf(image.layerDigest)}`;
      proxy.on((m, u) => m === 'GET' && path(u) === `/v2/${repo}/blobs/${image.layerDigest}`, (_req, res) => {
        // As a registry on object storage does: a pre-signed URL on the storage's host.
        res.writeHead(307, { location: `https://${elsewhere.address}${blobPath}?X-Amz-Signature=presigned` }).end();
      });
      elsewhere.on((m, u) => m === 'GET' && path(u) === blobPath, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': image.layer.length }).end(image.layer);
      });
      const isb = await backUp(w, 'redirect', repo, image.digest);
      expect(isb.status?.phase).toBe('Completed');
      expect(await w.keys('redirect')).toContain(`${w.prefix('redirect')}/${LAYOUT}blobs/sha256/${hexOf(image.layerDigest)}`);
      const followed = elsewhere.received((r) => path(r.url) === blobPath);
      expect(followed.length).toBeGreaterThan(0);
      noCredentials(followed, w);
    },
  },
];

table('a registry that lies', 'registry', () => world, cases);
