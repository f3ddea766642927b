/**
 * The narrow slice of pkg/storage/engine that MVCC uses. Typing it as a Pick keeps the store
 * testable with any object of the same shape and documents exactly what MVCC needs from storage.
 */
import type { Engine } from '../engine/index.js';

export type MvccBackend = Pick<Engine, 'get' | 'getMany' | 'write' | 'iterate' | 'iterateChunks' | 'getProperty'>;
