/**
 * How specific a matching pattern is for one image (Connaisseur's algorithm). Both strings are
 * split into `/`-separated components; the image string is the reference spelled like the pattern
 * (see CompiledPattern.subject).
 *   (a) more components is more specific;
 *   (b) else, component by component from the left, the longer common prefix with the image's
 *       component is more specific;
 *   (c) else, component by component from the left, the longer pattern component is more specific.
 */
export interface Specificity {
  componentCount: number;
  prefixLengths: number[];
  componentLengths: number[];
}

export function measureSpecificity(normalizedPattern: string, subject: string): Specificity {
  const patternComponents = normalizedPattern.split('/');
  const subjectComponents = subject.split('/');
  return {
    componentCount: patternComponents.length,
    prefixLengths: patternComponents.map((component, i) => commonPrefixLength(component, subjectComponents[i] ?? '')),
    componentLengths: patternComponents.map((component) => component.length),
  };
}

/** Positive when `a` is more specific than `b`, negative when less, 0 when equally specific. */
export function compareSpecificity(a: Specificity, b: Specificity): number {
  if (a.componentCount !== b.componentCount) return a.componentCount - b.componentCount;
  return compareLeftToRight(a.prefixLengths, b.prefixLengths) || compareLeftToRight(a.componentLengths, b.componentLengths);
}

function compareLeftToRight(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

function commonPrefixLength(a: string, b: string): number {
  let length = 0;
  while (length < a.length && length < b.length && a[length] === b[length]) length++;
  return length;
}
