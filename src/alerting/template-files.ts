/** Finding, reading and compiling `<template>.json.hbs` files. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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

/**
 * Names and contents of every `*.json.hbs` in `dirs`, hashed: changes when a template is added, removed or edited
 * (also through a ConfigMap's `..data` symlink swap). Unreadable directories and files count as absent.
 */
export function templateFilesFingerprint(dirs: readonly string[]): string {
  const h = createHash('sha256');
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(TEMPLATE_SUFFIX)).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      let text: Buffer | string;
      try {
        text = readFileSync(join(dir, name));
      } catch {
        text = '(unreadable)';
      }
      h.update(`${dir}\0${name}\0${text.length}\0`).update(text);
    }
  }
  return h.digest('hex');
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
