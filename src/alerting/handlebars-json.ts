/**
 * An isolated Handlebars environment whose `{{ }}` escapes for JSON strings instead of HTML.
 *
 * Handlebars reads `escapeExpression` from a module shared by every environment, so it cannot be swapped per
 * environment without affecting other users of the library. Instead this environment gets its own
 * JavaScriptCompiler whose `appendEscaped` (the opcode behind `{{ }}`) calls a private helper. `{{{ }}}` stays raw
 * and is meant for pre-rendered JSON such as `{{{json results}}}`.
 */
import Handlebars from 'handlebars';

const ESCAPE_HELPER = '__imprimaturJsonEscape';

/** Text of `value` escaped for use between the quotes of a JSON string (no HTML escaping: `<` stays `<`). */
export function jsonStringContent(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Handlebars.SafeString) return value.toHTML();
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  const quoted = JSON.stringify(text);
  return quoted.slice(1, -1);
}

type CompilerCtor = new (...args: unknown[]) => Record<string, unknown>;

function jsonCompiler(base: CompilerCtor): CompilerCtor {
  function JsonJavaScriptCompiler(this: unknown, ...args: unknown[]): void {
    (base as unknown as (...a: unknown[]) => void).apply(this, args);
  }
  JsonJavaScriptCompiler.prototype = Object.create(base.prototype) as object;
  const proto = JsonJavaScriptCompiler.prototype as Record<string, unknown>;
  proto.constructor = JsonJavaScriptCompiler;
  // Child programs ({{#each}} bodies etc.) are compiled with `new this.compiler()`.
  proto.compiler = JsonJavaScriptCompiler;
  proto.appendEscaped = function appendEscaped(this: {
    pushSource(s: unknown): void;
    appendToBuffer(parts: unknown[]): unknown;
    aliasable(name: string): unknown;
    popStack(): unknown;
  }): void {
    // The trailing `null` stands in for the options object that Handlebars' helper wrapper rewrites.
    this.pushSource(this.appendToBuffer([this.aliasable(`helpers.${ESCAPE_HELPER}`), '(', this.popStack(), ', null)']));
  };
  return JsonJavaScriptCompiler as unknown as CompilerCtor;
}

export type JsonHandlebars = typeof Handlebars;

/** A fresh environment with JSON escaping and the helpers `json` and `eq`. */
export function createJsonHandlebars(): JsonHandlebars {
  const hb = Handlebars.create();
  const env = hb as unknown as { JavaScriptCompiler: CompilerCtor };
  env.JavaScriptCompiler = jsonCompiler(env.JavaScriptCompiler);
  hb.registerHelper(ESCAPE_HELPER, (value: unknown) => jsonStringContent(value));
  // {{{json value}}}: the value as a JSON document (null for undefined). Inside quotes use {{json value}}.
  hb.registerHelper('json', (value: unknown) => JSON.stringify(value === undefined ? null : value));
  // {{#if (eq decision "reject")}}
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  return hb;
}

let shared: JsonHandlebars | undefined;

/** The process-wide JSON environment (templates are compiled once at load). */
export function jsonHandlebars(): JsonHandlebars {
  shared ??= createJsonHandlebars();
  return shared;
}
