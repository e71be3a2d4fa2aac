// The ImageStreamsBackup and ImageStreamsRestore API: generated types and their names.
export * from './types.generated.js';
export * from './constants.js';
