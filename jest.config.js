// Jest runs the TypeScript sources as native ESM (node --experimental-vm-modules),
// transpiled by ts-jest; type errors are caught by `npm run typecheck` instead.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/pkg', '<rootDir>/controllers', '<rootDir>/plugin', '<rootDir>/test', '<rootDir>/hack'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
  testTimeout: 120000,
  // Integration tests share one local stack; two workers keep the 2-core machine responsive.
  maxWorkers: 2,
};
