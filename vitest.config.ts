import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    // Host-C and QEMU suites compile firmware; two cores are all CI has.
    maxWorkers: 2,
  },
});
