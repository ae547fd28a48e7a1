/** Writes helm/values.schema.json from the program's config schema (src/config/schema.ts). `npm run schema`. */
import { writeFileSync } from 'node:fs';
import { valuesSchemaText } from '../src/config/values-schema-file.js';

const file = new URL('../helm/values.schema.json', import.meta.url);
writeFileSync(file, valuesSchemaText());
console.log(`wrote ${file.pathname}`);
