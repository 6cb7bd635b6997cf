import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base';

// Code splitting (unlike the shared default): the three entry points share one copy of the error classes
// and the queue, so `err instanceof StoreCorruptError` holds for errors thrown by `@integ/queue/sqlite`.
export default defineConfig({
  ...packageBuild({ index: 'src/index.ts', sqlite: 'src/sqlite.ts', testing: 'src/testing.ts' }),
  splitting: true,
});
