import { fileURLToPath } from 'node:url';

/** The package root (works from src/ via tsx and from dist/). */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
export const defaultConfigFile = fileURLToPath(new URL('../../policies/default.yaml', import.meta.url));
