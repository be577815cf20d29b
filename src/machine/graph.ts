// `cutover graph`: the runbook machine as a mermaid stateDiagram-v2. Drawn by walking the machine's own
// state nodes, so the picture cannot drift from what `execute` runs.
import type { AnyStateNode } from 'xstate';
import type { LoadedRunbook } from '../config/types.js';
import { createRunbookMachine } from './runbook.js';

interface Edge {
  from: string;
  to: string;
  label: string;
}

/** Invocation results read as outcomes; the internal event names mean nothing to an operator. */
function edgeLabel(eventType: string): string {
  if (eventType.startsWith('xstate.done.actor.')) return 'done';
  if (eventType.startsWith('xstate.error.actor.')) return 'failed';
  return eventType;
}

// Mermaid ends a statement at `;` and starts a comment at `#`/`%%`; descriptions are user text.
const clean = (text: string): string => text.replace(/[;#]/g, ' ').replace(/%%/g, '%').replace(/\s+/g, ' ').trim();

function edgesOf(node: AnyStateNode): Edge[] {
  const edges: Edge[] = [];
  for (const [eventType, transitions] of node.transitions) {
    for (const transition of transitions) {
      for (const target of transition.target ?? []) {
        edges.push({ from: node.key, to: target.key, label: edgeLabel(eventType) });
      }
    }
  }
  return edges;
}

function uniqueEdges(edges: Edge[]): Edge[] {
  const seen = new Set<string>();
  return edges.filter((e) => {
    const key = `${e.from}\u0000${e.to}\u0000${e.label}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function describe(node: AnyStateNode): string | undefined {
  if (!node.description) return undefined;
  const index = (node.meta as { index?: number } | undefined)?.index;
  const text = index === undefined ? node.description : `${index + 1}. ${node.description}`;
  return `  ${node.key}: ${clean(text)}`;
}

export function toMermaid(loaded: LoadedRunbook): string {
  const machine = createRunbookMachine(loaded);
  const nodes = Object.values(machine.root.states) as AnyStateNode[];
  const initial = machine.root.initial.target[0]?.key;
  const lines = ['stateDiagram-v2'];
  if (initial) lines.push(`  [*] --> ${initial}`);
  for (const node of nodes) {
    const description = describe(node);
    if (description) lines.push(description);
  }
  for (const edge of uniqueEdges(nodes.flatMap(edgesOf))) {
    lines.push(`  ${edge.from} --> ${edge.to}: ${clean(edge.label)}`);
  }
  for (const node of nodes) if (node.type === 'final') lines.push(`  ${node.key} --> [*]`);
  return `${lines.join('\n')}\n`;
}
