import type { Schema } from '../../hack/gen-types.js';
import { readCrds } from '../../hack/gen-types.js';
import { API_VERSION, GROUP, ISB_KIND, ISB_PLURAL, ISR_KIND, ISR_PLURAL, VERSION } from './constants.js';

const crds = readCrds();
const byKind = new Map(crds.map(({ crd }) => [crd.spec.names.kind, crd]));

function schemaOf(kind: string): Schema {
  const crd = byKind.get(kind);
  if (!crd) throw new Error(`no CRD for ${kind}`);
  return crd.spec.versions[0]!.schema.openAPIV3Schema;
}

function at(schema: Schema, path: string): unknown {
  return path.split('.').reduce<Schema | undefined>((s, key) => s?.properties?.[key], schema);
}

function undocumented(schema: Schema, path: string): string[] {
  const own = schema.description || path === 'metadata' ? [] : [path];
  const props = Object.entries(schema.properties ?? {}).flatMap(([k, s]) => undocumented(s, path ? `${path}.${k}` : k));
  const items = schema.items && schema.items.type === 'object' ? undocumented(schema.items, `${path}[]`) : [];
  return [...own, ...props, ...items];
}

describe('crds/', () => {
  it.each([
    [ISB_KIND, ISB_PLURAL],
    [ISR_KIND, ISR_PLURAL],
  ])('declares %s as the constants name it', (kind, plural) => {
    const crd = byKind.get(kind);
    expect(crd?.spec).toMatchObject({ group: GROUP, names: { kind, plural } });
    expect(crd?.spec.versions.map((v) => v.name)).toEqual([VERSION]);
    // What objects are created with: the CRD's own group and version, not the constants'.
    expect(API_VERSION).toBe(`${crd?.spec.group}/${crd?.spec.versions[0]?.name}`);
  });

  // The restore reads what the backup wrote, and the controllers share one status writer.
  it.each(['spec.backupLocation', 'status.conditions', 'status.progress', 'status.failures',
    'status.message', 'status.observedGeneration', 'status.startTimestamp', 'status.completionTimestamp'])(
    'gives %s the same schema in both kinds', (path) => {
      expect(at(schemaOf(ISB_KIND), path)).toBeDefined();
      expect(at(schemaOf(ISR_KIND), path)).toEqual(at(schemaOf(ISB_KIND), path));
    });

  it.each([ISB_KIND, ISR_KIND])('describes every field of %s, for kubectl explain', (kind) => {
    expect(undocumented(schemaOf(kind), '')).toEqual([]);
  });
});
