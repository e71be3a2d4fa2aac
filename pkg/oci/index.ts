export * from './mediaTypes.js';
export * from './digest.js';
export * from './verifyingStream.js';
export * from './manifest.js';
export * from './reference.js';
