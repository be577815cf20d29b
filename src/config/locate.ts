// Finds where a field path lives in a parsed YAML document, so each problem is reported at the line and
// column an editor can jump to. A field that is missing is reported at the nearest map or list that exists.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type FieldPath = readonly PropertyKey[];

export interface Position {
  line: number;
  col: number;
}

interface Found {
  node: Node;
  /** The key of the last path segment, when the path ends in a map entry. */
  key?: Node;
}

/**
 * Position of `path` in `doc`: the value (or with `at: 'key'` the key) of the deepest path prefix that
 * exists. Aliases are followed to their anchor.
 */
export function locate(
  doc: Document,
  lineCounter: LineCounter,
  path: FieldPath,
  at: 'key' | 'value' = 'value',
): Position {
  const found = walk(doc, path);
  const node = at === 'key' && found.key ? found.key : found.node;
  const offset = node.range?.[0] ?? 0;
  return lineCounter.linePos(offset);
}

function walk(doc: Document, path: FieldPath): Found {
  let current: Found = { node: doc.contents ?? (doc as unknown as Node) };
  for (const segment of path) {
    const next = child(doc, current.node, segment);
    if (!next) break;
    current = next;
  }
  return current;
}

function child(doc: Document, parent: Node, segment: PropertyKey): Found | undefined {
  const node = isAlias(parent) ? (parent.resolve(doc) as Node | undefined) : parent;
  if (isMap(node)) {
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
    if (!pair) return undefined;
    const key = pair.key as Node;
    // A key with no value (`preflight:`) has no value node: point at the key.
    const value = (pair.value as Node | null) ?? key;
    return { node: value, key };
  }
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment] as Node | undefined;
    return item ? { node: item } : undefined;
  }
  return undefined;
}
