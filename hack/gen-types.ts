// Generates pkg/api/types.generated.ts from the CRDs in crds/, which are the one source of
// truth for the API's shape. `npx tsx hack/gen-types.ts` writes the file; `--check` exits 1
// when it is stale (pkg/api/types.test.ts runs the same check in the test suite).
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import yaml from 'js-yaml';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const crdDir = path.join(repoRoot, 'crds');
export const outputFile = path.join(repoRoot, 'pkg', 'api', 'types.generated.ts');

export interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  format?: string;
  pattern?: string;
  maxItems?: number;
  maxLength?: number;
}

export interface Crd {
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[] };
    versions: { name: string; storage: boolean; schema: { openAPIV3Schema: Schema } }[];
  };
}

// Readable names for the object and enum types, by `Kind:path` (`*` for any kind; `[]` is
// an array's item). Shared names must describe identical schemas: the generator refuses
// two different shapes under one name, which also keeps the two CRDs' copies in step.
const TYPE_NAMES: Record<string, string> = {
  'ImageStreamsBackup:spec': 'ImageStreamsBackupSpec',
  'ImageStreamsBackup:status': 'ImageStreamsBackupStatus',
  'ImageStreamsBackup:status.phase': 'ImageStreamsBackupPhase',
  'ImageStreamsBackup:spec.veleroBackupReference': 'VeleroBackupReference',
  'ImageStreamsBackup:spec.imageStreams[]': 'ImageStreamEntry',
  'ImageStreamsBackup:spec.imageStreams[].dockerImageReferences[]': 'DockerImageReferenceEntry',
  'ImageStreamsRestore:spec': 'ImageStreamsRestoreSpec',
  'ImageStreamsRestore:status': 'ImageStreamsRestoreStatus',
  'ImageStreamsRestore:status.phase': 'ImageStreamsRestorePhase',
  'ImageStreamsRestore:spec.imageStreamsBackupReference': 'ImageStreamsBackupReference',
  'ImageStreamsRestore:spec.ImageStreamsBackupReference': 'ImageStreamsBackupReference',
  'ImageStreamsRestore:spec.imageStreams[]': 'ImageStreamSelector',
  'ImageStreamsRestore:spec.imageStreams[].dockerImageReferences[]': 'RestoreImageReference',
  '*:spec.backupLocation': 'BackupLocation',
  '*:spec.backupLocation.velero': 'VeleroLocationSpec',
  '*:spec.backupLocation.velero.objectStorage': 'ObjectStorageLocation',
  '*:spec.backupLocation.velero.credential': 'SecretKeySelector',
  '*:spec.backupLocation.velero.objectStorage.caCertRef': 'CaCertSecretKeySelector',
  '*:spec.backupLocation.velero.accessMode': 'BackupLocationAccessMode',
  '*:status.conditions[]': 'Condition',
  '*:status.conditions[].status': 'ConditionStatus',
  '*:status.progress': 'Progress',
  '*:status.progress.images': 'ImageCounts',
  '*:status.progress.blobs': 'BlobCounts',
  '*:status.progress.bytes': 'ByteCounts',
  '*:status.failures[]': 'ImageFailure',
};

// Limits the controllers must respect when they write status (the API server refuses the
// whole status update otherwise), exported as constants.
const LIMITS: Record<string, { name: string; limit: 'maxItems' | 'maxLength' }> = {
  '*:status.failures': { name: 'MAX_STATUS_FAILURES', limit: 'maxItems' },
  '*:status.message': { name: 'MAX_STATUS_MESSAGE_LENGTH', limit: 'maxLength' },
  '*:status.failures[].message': { name: 'MAX_FAILURE_MESSAGE_LENGTH', limit: 'maxLength' },
};

export function readCrds(dir = crdDir): { file: string; crd: Crd }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort()
    .map((file) => ({ file, crd: yaml.load(readFileSync(path.join(dir, file), 'utf8')) as Crd }));
}

interface Declaration {
  doc: string;
  code: string;
}

class Emitter {
  private readonly decls = new Map<string, Declaration>();

  constructor(private readonly kind: string) {}

  private nameOf(p: string): string | undefined {
    return TYPE_NAMES[`${this.kind}:${p}`] ?? TYPE_NAMES[`*:${p}`];
  }

  /** The TypeScript type of `schema` found at path `p`, declaring named types on the way. */
  typeOf(schema: Schema, p: string): string {
    const name = this.nameOf(p);
    if (schema.enum) {
      const union = schema.enum.map((v) => JSON.stringify(v)).join(' | ');
      if (!name) return union;
      const list = name.endsWith('s') ? `${name}es` : `${name}s`;
      const values = schema.enum.map((v) => JSON.stringify(v)).join(', ');
      this.declare(name, jsdoc(schema, ''),
        `export const ${list} = [${values}] as const;\nexport type ${name} = (typeof ${list})[number];\n`);
      return name;
    }
    switch (schema.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array':
        if (!schema.items) throw new Error(`${this.kind}: ${p} is an array without items`);
        return `${wrap(this.typeOf(schema.items, `${p}[]`))}[]`;
      case 'object':
        if (schema.properties) {
          if (!name) throw new Error(`${this.kind}: name the object type at ${p} in TYPE_NAMES of hack/gen-types.ts`);
          this.declare(name, jsdoc(schema, ''), `export interface ${name} ${this.body(schema, p)}\n`);
          return name;
        }
        if (typeof schema.additionalProperties === 'object') {
          return `Record<string, ${this.typeOf(schema.additionalProperties, `${p}{}`)}>`;
        }
        return 'Record<string, unknown>';
      default:
        throw new Error(`${this.kind}: unsupported schema type ${String(schema.type)} at ${p}`);
    }
  }

  body(schema: Schema, p: string, override: Record<string, string> = {}): string {
    const required = new Set(schema.required ?? []);
    const lines = Object.entries(schema.properties ?? {}).map(([key, prop]) => {
      const type = override[key] ?? this.typeOf(prop, p ? `${p}.${key}` : key);
      const optional = required.has(key) ? '' : '?';
      return `${jsdoc(prop, '  ')}  ${key}${optional}: ${type};`;
    });
    return `{\n${lines.join('\n')}\n}`;
  }

  // The type's own description may differ between uses (a field's doc says why it is
  // there); its shape, property docs included, may not.
  declare(name: string, doc: string, code: string): void {
    const seen = this.decls.get(name);
    if (seen !== undefined && seen.code !== code) {
      throw new Error(`${this.kind}: two different schemas are both named ${name}`);
    }
    if (!seen) this.decls.set(name, { doc, code });
  }

  limits(schema: Schema, p: string, out: Map<string, string>): void {
    const wanted = LIMITS[`${this.kind}:${p}`] ?? LIMITS[`*:${p}`];
    const value = wanted && schema[wanted.limit];
    if (wanted && value === undefined) throw new Error(`${this.kind}: ${p} has no ${wanted.limit} for ${wanted.name}`);
    if (wanted) out.set(wanted.name, `export const ${wanted.name} = ${value};\n`);
    for (const [key, prop] of Object.entries(schema.properties ?? {})) this.limits(prop, p ? `${p}.${key}` : key, out);
    if (schema.items) this.limits(schema.items, `${p}[]`, out);
  }

  declarations(): Map<string, Declaration> {
    return this.decls;
  }
}

function wrap(type: string): string {
  return type.includes(' ') ? `(${type})` : type;
}

function jsdoc(schema: Schema, indent: string): string {
  // Line breaks in a description are meant (a list of phases); the rest is re-flowed.
  const lines = (schema.description ?? '').split('\n').flatMap((l) => wordWrap(l, 96 - indent.length));
  if (schema.default !== undefined) lines.push(`@default ${JSON.stringify(schema.default)}`);
  if (schema.format) lines.push(`@format ${schema.format}`);
  if (schema.pattern) lines.push(`@pattern ${schema.pattern}`);
  if (schema.maxItems !== undefined) lines.push(`@maxItems ${schema.maxItems}`);
  if (lines.length === 0) return '';
  const safe = lines.map((l) => l.replaceAll('*/', '*\\/'));
  return `${indent}/**\n${safe.map((l) => `${indent} * ${l}`.trimEnd()).join('\n')}\n${indent} */\n`;
}

function wordWrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) out.push(line);
  return out;
}

/** The whole text of types.generated.ts for these CRDs. */
export function generateTypes(crds: { file: string; crd: Crd }[]): string {
  const decls = new Map<string, Declaration>();
  const limits = new Map<string, string>();
  const roots: string[] = [];
  for (const { file, crd } of crds) {
    const { kind, listKind } = crd.spec.names;
    const version = crd.spec.versions.find((v) => v.storage);
    if (!version) throw new Error(`${file}: no storage version`);
    const root = version.schema.openAPIV3Schema;
    const emitter = new Emitter(kind);
    const body = emitter.body(root, '', { metadata: 'V1ObjectMeta' });
    emitter.limits(root, '', limits);
    for (const [name, decl] of emitter.declarations()) {
      const seen = decls.get(name);
      if (seen && seen.code !== decl.code) throw new Error(`${file}: ${name} differs from the other CRDs' ${name}`);
      if (!seen) decls.set(name, decl);
    }
    roots.push(`${jsdoc(root, '')}export interface ${kind} ${body}\n`);
    roots.push(
      `/** A list of ${kind} objects, as the API server returns it. */\n` +
        `export interface ${listKind} {\n  apiVersion?: string;\n  kind?: string;\n` +
        `  metadata?: V1ListMeta;\n  items: ${kind}[];\n}\n`,
    );
  }
  return [
    `// Generated by hack/gen-types.ts from ${crds.map((c) => `crds/${c.file}`).join(' and ')}.`,
    '// Do not edit: change the CRDs, then run `npx tsx hack/gen-types.ts`.',
    "import type { V1ListMeta, V1ObjectMeta } from '@kubernetes/client-node';",
    '',
    ...roots,
    ...[...decls.values()].map((d) => d.doc + d.code),
    ...limits.values(),
  ].join('\n');
}

function main(argv: string[]): number {
  const text = generateTypes(readCrds());
  const rel = path.relative(repoRoot, outputFile);
  if (argv.includes('--check')) {
    if (existsSync(outputFile) && readFileSync(outputFile, 'utf8') === text) return 0;
    console.error(`${rel} is stale: run 'npx tsx hack/gen-types.ts'`);
    return 1;
  }
  writeFileSync(outputFile, text);
  console.log(`wrote ${rel}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
