import { valuesSchema } from './schema.js';

/** The exact text of helm/values.schema.json (a test keeps the committed file equal to it). */
export function valuesSchemaText(): string {
  return `${JSON.stringify(valuesSchema(), null, 2)}\n`;
}
