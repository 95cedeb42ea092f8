/**
 * Every error evonas raises on purpose: a stable `code` to match on (never
 * the class name as a string), a `path` to what was at fault where there is
 * one (a file, a field, a node: ['genetic', 'pM'], ['nodes', 3, 'kernel']),
 * and a message for a person. Subclasses say where it came from.
 */
export class EvonasError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly path: (string | number)[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 'genetic.pM' or 'nodes[3].kernel' as a path array: ['genetic', 'pM'], ['nodes', 3, 'kernel']. */
export function pathOf(dotted: string): (string | number)[] {
  return dotted
    .split(/\.|\[(\d+)\]/)
    .filter((p) => p !== undefined && p !== '')
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}
