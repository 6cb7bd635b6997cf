import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base';

export default defineConfig(
  packageBuild({ index: 'src/index.ts', dns: 'src/dns.ts', health: 'src/health.ts', etcd: 'src/etcd.ts' }),
);
