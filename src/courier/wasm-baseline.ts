/**
 * undici parses HTTP with a WebAssembly build of llhttp, which V8 compiles twice: at once with its baseline
 * compiler (Liftoff), then again in the background with its optimising one. That second compile is a ~35 MiB
 * spike in this process's memory after its first HTTP send (peak 105 MiB instead of 70), for no difference we
 * could measure on the small responses a courier reads (2,000 POSTs, 100 at a time: 1.5–1.6 s either way).
 * Imported first by ./child.ts, before any WebAssembly is compiled. A V8 without the flag says so on stderr
 * and carries on, paying the spike.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--liftoff-only');
