/** Finding, reading and compiling `<template>.json.hbs` files (and Connaisseur's `<template>.json`). */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImprimaturError } from '../errors.js';
import { jsonHandlebars } from './handlebars-json.js';
import type { AlertVariables } from './types.js';

export const TEMPLATE_SUFFIX = '.json.hbs';
/** Connaisseur's alert templates are `<name>.json` (alert_payload_templates/); their `{{ var }}` is Handlebars too. */
export const CONNAISSEUR_TEMPLATE_SUFFIX = '.json';
export const TEMPLATE_SUFFIXES = [TEMPLATE_SUFFIX, CONNAISSEUR_TEMPLATE_SUFFIX] as const;

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

/** Absolute path of the first `<dir>/<name>.json.hbs` or `<dir>/<name>.json` that exists (directory by directory), or undefined. */
export function findTemplate(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    for (const suffix of TEMPLATE_SUFFIXES) {
      const file = join(dir, `${name}${suffix}`);
      if (existsSync(file)) return file;
    }
  }
  return undefined;
}

/** The template name of a file name, or undefined when it is not a template file. */
export function templateName(fileName: string): string | undefined {
  const suffix = TEMPLATE_SUFFIXES.find((s) => fileName.endsWith(s));
  return suffix ? fileName.slice(0, -suffix.length) : undefined;
}

/**
 * Names and contents of every template file (`*.json.hbs`, `*.json`) in `dirs`, hashed: changes when a template is
 * added, removed or edited (also through a ConfigMap's `..data` symlink swap). Unreadable directories and files
 * count as absent.
 */
export function templateFilesFingerprint(dirs: readonly string[]): string {
  const h = createHash('sha256');
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => templateName(n) !== undefined).sort();
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

/**
 * Compiles template text; throws ImprimaturError ALERT_TEMPLATE_INVALID with Handlebars' message on syntax errors.
 * `strict` (used for the load-time sample render) makes a reference to an unknown variable an error instead of "".
 */
export function compileTemplate(source: string, file: string, strict = false): CompiledTemplate {
  const hb = jsonHandlebars();
  let fn: (ctx: unknown) => string;
  try {
    // Handlebars compiles lazily; precompile forces the parse so syntax errors surface here, at load time.
    hb.precompile(source);
    fn = hb.compile(source, { strict, preventIndent: true });
  } catch (err) {
    throw new ImprimaturError('ALERT_TEMPLATE_INVALID', `template ${file} is not valid Handlebars: ${(err as Error).message}`, { file }, { cause: err });
  }
  return (vars) => fn(vars);
}

const cache = new Map<string, CompiledTemplate>();

/** Reads and compiles a template file once per process (keyed by path, content and strictness). */
export function loadTemplate(file: string, strict = false): CompiledTemplate {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ImprimaturError('ALERT_TEMPLATE_UNREADABLE', `cannot read template ${file}: ${(err as Error).message}`, { file }, { cause: err });
  }
  const key = `${file}\0${strict}\0${source}`;
  let compiled = cache.get(key);
  if (!compiled) {
    compiled = compileTemplate(source, file, strict);
    cache.set(key, compiled);
  }
  return compiled;
}
