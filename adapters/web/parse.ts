import type { FastifyReply } from 'fastify';
import { z } from 'zod';

/** Parses a request part with zod; on failure sends a 400 naming what is wrong and returns undefined. */
export function parse<T>(schema: z.ZodType<T>, value: unknown, res: FastifyReply): T | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  res.code(400).send({ error: 'invalid_request', message: z.prettifyError(result.error) });
  return undefined;
}
