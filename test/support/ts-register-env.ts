/**
 * Jest runs src/ from TypeScript: a courier child started from there loads child.ts through the bench's swc
 * require hook, the same transform jest uses (src/courier/courier.ts reads FORGE_JOBS_TS_REGISTER).
 */
import { join } from 'node:path';

process.env.FORGE_JOBS_TS_REGISTER = join(__dirname, '..', '..', 'bench', 'register.js');
