import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base';

export default defineConfig(
  packageBuild({ index: 'src/index.ts', sqlite: 'src/sqlite.ts', testing: 'src/testing.ts' }),
);
