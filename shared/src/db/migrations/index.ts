import type { Migration } from '../migrate.js';
import { coreSchema } from './001-core.js';
import { ingestSchema } from './002-ingest.js';
import { registrySchema } from './003-registry.js';
import { rolloutSchema } from './004-rollouts.js';

/** Every migration in the order it is applied. Append only: never edit an applied one. */
export const migrations: Migration[] = [coreSchema, ingestSchema, registrySchema, rolloutSchema];
