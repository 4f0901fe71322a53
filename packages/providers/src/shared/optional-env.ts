import { z } from 'zod';

/** An env variable that may be unset; an empty string counts as unset (shells and .env files produce them). */
export const optionalEnvString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/** An optional http(s) URL env variable; an empty string counts as unset. */
export const optionalEnvUrl = optionalEnvString.pipe(
  z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
);
