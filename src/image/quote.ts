/** Quotes user input for an error sentence: JSON-escaped (so whitespace and quotes are visible), cut at 100 characters. */
export function quoteInput(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
}
