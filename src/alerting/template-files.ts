/** Finding, reading and compiling `<template>.json.hbs` files. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImprimaturError } from '../errors.js';
import { jsonHandlebars } from './handlebars-json.js';
import type { AlertVariables } from './types.js';

export const TEMPLATE_SUFFIX = '.json.hbs';

/** `<package root>/alert-templates`, found relative to this file (works from src/ via tsx and from dist/). */
export function defaultTemplateDir(): string {
  return fileURLToPath(new URL('../../alert-templates', import.meta.url));
}

export function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** Absolute path of the first `<dir>/<name>.json.hbs` that exists, or undefined. */
export function findTemplate(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const file = join(dir, `${name}${TEMPLATE_SUFFIX}`);
    if (existsSync(file)) return file;
  }
  return undefined;
}

export type CompiledTemplate = (vars: AlertVariables) => string;

/** Compiles template text; throws ImprimaturError ALERT_TEMPLATE_INVALID with Handlebars' message on syntax errors. */
export function compileTemplate(source: string, file: string): CompiledTemplate {
  const hb = jsonHandlebars();
  let fn: (ctx: unknown) => string;
  try {
    // Handlebars compiles lazily; precompile forces the parse so syntax errors surface here, at load time.
    hb.precompile(source);
    fn = hb.compile(source, { strict: false, preventIndent: true });
  } catch (err) {
    throw new ImprimaturError('ALERT_TEMPLATE_INVALID', `template ${file} is not valid Handlebars: ${(err as Error).message}`, { file }, { cause: err });
  }
  return (vars) => fn(vars);
}

const cache = new Map<string, CompiledTemplate>();

/** Reads and compiles a template file once per process (keyed by path and content). */
export function loadTemplate(file: string): CompiledTemplate {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ImprimaturError('ALERT_TEMPLATE_UNREADABLE', `cannot read template ${file}: ${(err as Error).message}`, { file }, { cause: err });
  }
  const key = `${file}\0${source}`;
  let compiled = cache.get(key);
  if (!compiled) {
    compiled = compileTemplate(source, file);
    cache.set(key, compiled);
  }
  return compiled;
}
