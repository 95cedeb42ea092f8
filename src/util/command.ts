/** The evonas command, which the supervisor (workers) and a sweep (evolve runs) start as child processes. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EVONAS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'evonas');
