import { z } from 'zod';
import { ConfigError } from '../errors.js';

/**
 * Reads a zod object schema from environment variables.
 *
 * `names` maps each config key to its environment variable, so the table of variables is
 * explicit and greppable. Every problem is reported at once, naming the variable.
 */
export function loadEnvConfig<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape>,
  names: { [K in keyof Shape]: string },
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<Shape>> {
  const raw: Record<string, string | undefined> = {};
  for (const [key, variable] of Object.entries(names) as [string, string][]) {
    const value = env[variable];
    raw[key] = value === '' ? undefined : value;
  }

  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;

  const problems = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const variable = (names as Record<string, string>)[key] ?? key;
    return `${variable}: ${issue.message} (got ${JSON.stringify(raw[key] ?? null)})`;
  });
  throw new ConfigError(problems);
}

/** A boolean environment flag: 1/true/yes/on and 0/false/no/off. */
export const booleanFlag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((value) => ['1', 'true', 'yes', 'on'].includes(value));
