import { memoryStore } from '@integ/queue';
import { queueConformance } from '@integ/queue/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

queueConformance(
  { describe, it, expect, beforeEach, afterEach },
  { name: 'memory', createStore: () => memoryStore() },
);
