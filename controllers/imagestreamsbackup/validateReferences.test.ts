import type { ImageStreamEntry } from '../../pkg/api/index.js';
import { validateReferences } from './validateReferences.js';

const host = 'image-registry.openshift-image-registry.svc:5000';
const d1 = 'sha256:' + '1'.repeat(64);
const d2 = 'sha256:' + '2'.repeat(64);
const ref = (path: string, digest = d1, h = host) => `${h}/${path}@${digest}`;
const entry = (name: string, refs: Array<[string, string[]?]>, namespace?: string): ImageStreamEntry => ({
  name, ...(namespace && { namespace }),
  dockerImageReferences: refs.map(([r, tags]) => ({ dockerImageReference: r, ...(tags && { tags }) })),
});

describe('validateReferences', () => {
  it.each([
    {
      name: 'takes the namespace from the reference path when the entry has none',
      entries: [entry('app', [[ref('team/app'), ['latest']]])],
      streams: [{ namespace: 'team', name: 'app', references: [{ reference: ref('team/app'), tags: ['latest'] }] }],
      failures: [],
    },
    {
      name: 'prefers the entry namespace over the path (an image stored in another project)',
      entries: [entry('app', [[ref('openshift/base')]], 'team')],
      streams: [{ namespace: 'team', name: 'app', references: [{ reference: ref('openshift/base'), tags: [] }] }],
      failures: [],
    },
    {
      name: 'merges the same digest appended twice, with the union of the tags',
      entries: [entry('app', [[ref('team/app'), ['v1']]]), entry('app', [[ref('team/app'), ['latest', 'v1']], [ref('team/app', d2), ['v2']]])],
      streams: [{ namespace: 'team', name: 'app', references: [
        { reference: ref('team/app'), tags: ['latest', 'v1'] }, { reference: ref('team/app', d2), tags: ['v2'] }] }],
      failures: [],
    },
    {
      name: 'compares the registry host without case',
      entries: [entry('app', [[ref('team/app', d1, host.toUpperCase())]])],
      streams: [{ namespace: 'team', name: 'app', references: [{ reference: ref('team/app', d1, host.toUpperCase()), tags: [] }] }],
      failures: [],
    },
  ])('$name', ({ entries, streams, failures }) => {
    const r = validateReferences(entries, host);
    expect(r.imageStreams).toEqual(streams);
    expect(r.failures).toEqual(failures);
  });

  it.each([
    { name: 'a tag reference', reference: `${host}/team/app:latest`, message: /must be a digest reference.*got a tag/ },
    { name: 'another registry', reference: ref('team/app', d1, 'quay.io'), message: /points at registry "quay.io", not at the internal registry/ },
    { name: 'a path without a namespace', reference: ref('app'), message: /no namespace in its path/ },
    { name: 'a short digest', reference: `${host}/team/app@sha256:abc`, message: /must be a digest reference/ },
  ])('fails only the image with $name and keeps the others', ({ reference, message }) => {
    const r = validateReferences([entry('app', [[reference], [ref('team/app', d2)]])], host);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]!.reference).toBe(reference);
    expect(r.failures[0]!.message).toMatch(message);
    expect(r.imageStreams.flatMap((s) => s.references.map((x) => x.reference))).toEqual([ref('team/app', d2)]);
    expect(r.total).toBe(2);
  });

  it('reports a bad reference listed twice once', () => {
    const bad = `${host}/team/app:latest`;
    const r = validateReferences([entry('app', [[bad]], 'team'), entry('app', [[bad]], 'team')], host);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]!.imageStream).toBe('team/app');
  });

  it('counts nothing for an empty spec', () => {
    expect(validateReferences([], host)).toEqual({ imageStreams: [], failures: [], total: 0 });
  });
});

describe('validateReferences outside an admin namespace', () => {
  it.each([
    { name: 'backs up its own namespace\'s image streams', entries: [entry('app', [[ref('team/app')]])], refused: [] },
    { name: 'refuses another namespace\'s image stream, named in the entry', entries: [entry('cli', [[ref('openshift/cli')]], 'openshift')], refused: ['openshift/cli'] },
    { name: 'refuses another namespace\'s image stream, taken from the path', entries: [entry('cli', [[ref('openshift/cli')]])], refused: ['openshift/cli'] },
    { name: 'refuses an image of another namespace\'s repository even under its own namespace', entries: [entry('app', [[ref('openshift/cli')]], 'team')], refused: ['team/app'] },
  ])('$name', ({ entries, refused }) => {
    const r = validateReferences(entries, host, 'team');
    expect(r.failures.map((f) => f.imageStream)).toEqual(refused);
    for (const f of r.failures) expect(f.message).toMatch(/in namespace team may back up the image streams of its own namespace only/);
  });
});
