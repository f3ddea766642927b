/**
 * Helper process for the lock test (not a test file): opens the engine at argv[2], prints "ready",
 * and holds it until stdin closes.
 */
import { Engine } from '../../../pkg/storage/engine/index.js';

const engine = await Engine.open(process.argv[2] ?? '');
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', () => void engine.close().then(() => process.exit(0)));
