// Shared by the display features: find the node a frontend output entry belongs to.
// ComfyUI loads every .js under web/ as an extension; this module only exports helpers.
import { app } from "../../../../scripts/app.js"; // served from /extensions/<pack>/js/common/

// The frontend keys app.nodeOutputs by "node locator": "<id>" for the root graph,
// "<subgraph uuid>:<id>" inside a subgraph; 1.5x may also write "~root:<id>" and
// "~subgraph:<uuid>:<id>" with the id URI-encoded.
function nodeAt(locator) {
  const root = app.rootGraph ?? app.graph;
  let key = String(locator);
  let graph = root;
  if (key.startsWith("~root:")) {
    key = decodeURIComponent(key.slice("~root:".length));
  } else {
    if (key.startsWith("~subgraph:")) key = key.slice("~subgraph:".length);
    const cut = key.indexOf(":");
    if (cut !== -1) {
      graph = root?.subgraphs?.get(key.slice(0, cut));
      key = decodeURIComponent(key.slice(cut + 1));
    }
  }
  return graph?.getNodeById(key) ?? null;
}

// Calls show(node, output) for each of our nodes in an onNodeOutputsUpdated map. The frontend
// calls that hook when it restores outputs without running anything (switching workflow tabs,
// loading a queue entry), where onExecuted never fires.
export function forEachOutput(nodeOutputs, nodeTypes, show) {
  for (const [locator, output] of Object.entries(nodeOutputs ?? {})) {
    const node = nodeAt(locator);
    if (node && output && nodeTypes.has(node.comfyClass ?? node.type)) show(node, output);
  }
}
