export { exportBackup, type ExportOptions, type ExportResult } from './exportArchive.js';
export { openArchive, type OpenArchiveOptions, type OpenedArchive } from './openArchive.js';
export { importToLocation, importToRegistry, type ImportOptions, type RegistryImportOptions } from './importArchive.js';
export { indexTar, type TarEntry } from './tarIndex.js';
