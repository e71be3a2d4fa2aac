import { readFileSync } from 'node:fs';
import type { Crd, Schema } from '../../hack/gen-types.js';
import { generateTypes, outputFile, readCrds } from '../../hack/gen-types.js';
import type { ImageFailure as ContractFailure, LocationSpec, Progress as ContractProgress } from '../contracts.js';
import type { ImageFailure, Progress, VeleroLocationSpec } from './index.js';

// Checked by tsc (npm run typecheck), not by jest: the status and location types of the API
// are the contracts' types, so the data path's results go into status without conversion.
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const contractsMatch: [
  Mutual<Progress, ContractProgress>,
  Mutual<ImageFailure, ContractFailure>,
  VeleroLocationSpec extends LocationSpec ? true : false,
] = [true, true, true];

function crd(kind: string, spec: Schema): { file: string; crd: Crd } {
  return {
    file: `${kind}.yaml`,
    crd: {
      spec: {
        group: 'example.com',
        names: { kind, listKind: `${kind}List`, plural: kind.toLowerCase(), singular: kind.toLowerCase() },
        versions: [{ name: 'v1', storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec } } } }],
      },
    },
  };
}

describe('types.generated.ts', () => {
  it('is what hack/gen-types.ts makes of crds/ (run `npx tsx hack/gen-types.ts` when this fails)', () => {
    expect(readFileSync(outputFile, 'utf8')).toBe(generateTypes(readCrds()));
  });
});

describe('generateTypes', () => {
  const location = (bucketDoc: string): Schema => ({
    type: 'object',
    properties: { backupLocation: { type: 'object', properties: { name: { type: 'string', description: bucketDoc } } } },
  });

  it.each([
    ['an object type without a name in TYPE_NAMES', [crd('Widget', { type: 'object', properties: { x: { type: 'string' } } })], /name the object type at spec/],
    ['two CRDs whose shared type differs', [crd('ImageStreamsBackup', location('one')), crd('ImageStreamsRestore', location('two'))], /BackupLocation differs/],
    ['a schema type it cannot map', [crd('ImageStreamsBackup', { type: 'null' })], /unsupported schema type null at spec/],
  ])('refuses %s', (_name, crds, error) => {
    expect(() => generateTypes(crds)).toThrow(error);
  });

  it('marks required properties, unions enums and documents defaults and patterns', () => {
    const text = generateTypes([crd('ImageStreamsBackup', {
      type: 'object',
      required: ['startBackup'],
      properties: {
        startBackup: { type: 'boolean', default: false, description: 'Starts it.' },
        veleroBackupReference: { type: 'object', properties: { namespace: { type: 'string', pattern: '^[a-z]+$' } } },
        modes: { type: 'array', items: { type: 'string', enum: ['A', 'B'] } },
      },
    })]);
    expect(text).toContain('   * Starts it.\n   * @default false\n   */\n  startBackup: boolean;');
    expect(text).toContain('  veleroBackupReference?: VeleroBackupReference;');
    expect(text).toContain('   * @pattern ^[a-z]+$\n   */\n  namespace?: string;');
    expect(text).toContain('  modes?: ("A" | "B")[];');
  });
});
