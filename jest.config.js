// Jest runs in native ESM mode (NODE_OPTIONS=--experimental-vm-modules, set by the npm
// scripts) because jose 6 and oidc-provider ship ESM only; ts-jest compiles TypeScript
// to ESM and leaves node_modules untouched.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  collectCoverageFrom: ['src/**/*.ts'],
  coverageReporters: ['text-summary', 'text'],
  testTimeout: 20000,
};
