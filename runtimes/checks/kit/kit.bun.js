// queue's conformance kit under bun:test, with memoryStore(), as the README's vitest example is written.
import { afterEach, beforeEach, describe, expect, it } from 'bun:test';
import { memoryStore } from '@integ/queue';
import { queueConformance } from '@integ/queue/testing';

queueConformance(
  { describe, it, expect, beforeEach, afterEach },
  { name: 'memoryStore', createStore: () => memoryStore() },
);
