// Shows Analyze's result on the node: per table, its best labels with a bar for each score.
import { app } from "../../../scripts/app.js"; // served from /extensions/<pack>/js/
import { forEachOutput } from "./common/node_outputs.js";

const NODE_TYPES = new Set(["CI_Analyze"]);
const WIDGET_NAME = "ci_analysis_table";
// Nodes 2.0 sizes a node to its content: without a cap the table (top_k rows per table) would
// stretch the node to ~1000 px instead of scrolling. Classic LiteGraph reads getMaxHeight.
const TABLE_MIN_HEIGHT = 160;
const TABLE_MAX_HEIGHT = 280;

function row(label, score, best) {
  const tr = document.createElement("tr");
  const name = document.createElement("td");
  name.textContent = label;
  name.style.cssText = "white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:220px;";
  const bar = document.createElement("td");
  bar.style.width = "100%";
  const fill = document.createElement("div");
  const width = best > 0 ? Math.max(2, (100 * score) / best) : 2;
  fill.style.cssText = `height:8px;width:${width}%;background:var(--p-primary-color, #4a8);border-radius:2px;`;
  bar.append(fill);
  const value = document.createElement("td");
  value.textContent = score.toFixed(3);
  tr.append(name, bar, value);
  return tr;
}

function render(container, analyses) {
  container.replaceChildren();
  analyses.forEach((json, index) => {
    const data = JSON.parse(json);
    if (analyses.length > 1) {
      const heading = document.createElement("div");
      heading.textContent = `Image ${index + 1}`;
      heading.style.fontWeight = "bold";
      container.append(heading);
    }
    const table = document.createElement("table");
    table.className = "ci-analysis";
    table.style.cssText = "width:100%;font-size:11px;border-collapse:collapse;";
    for (const [tableName, rows] of Object.entries(data)) {
      const head = document.createElement("tr");
      const cell = document.createElement("th");
      cell.colSpan = 3;
      cell.textContent = tableName;
      cell.style.textAlign = "left";
      head.append(cell);
      table.append(head);
      const best = Math.max(...rows.map(([, score]) => score));
      rows.forEach(([label, score]) => table.append(row(label, score, best)));
    }
    container.append(table);
  });
}

function tableWidget(node) {
  const existing = node.widgets?.find((w) => w.name === WIDGET_NAME);
  if (existing) return existing;
  const container = document.createElement("div");
  container.style.cssText =
    `overflow:auto;width:100%;height:100%;min-height:${TABLE_MIN_HEIGHT}px;max-height:${TABLE_MAX_HEIGHT}px;`;
  const widget = node.addDOMWidget(WIDGET_NAME, "ci_analysis", container, {
    serialize: false,
    getValue: () => "",
    setValue: () => {},
    getMinHeight: () => TABLE_MIN_HEIGHT,
    getMaxHeight: () => TABLE_MAX_HEIGHT,
  });
  widget.serialize = false;
  widget.container = container;
  return widget;
}

// onExecuted and onNodeOutputsUpdated may both deliver one result: draw it once.
function showAnalysis(node, output) {
  if (!Array.isArray(output?.ci_analysis)) return;
  const widget = tableWidget(node);
  const shown = JSON.stringify(output.ci_analysis);
  if (widget.shown === shown) return;
  widget.shown = shown;
  render(widget.container, output.ci_analysis);
}

app.registerExtension({
  name: "ci_interrogator.analysisTable",
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (!NODE_TYPES.has(nodeData.name)) return;
    const onNodeCreated = nodeType.prototype.onNodeCreated;
    nodeType.prototype.onNodeCreated = function () {
      const result = onNodeCreated?.apply(this, arguments);
      tableWidget(this);
      return result;
    };
    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      onExecuted?.apply(this, arguments);
      showAnalysis(this, message);
    };
  },
  onNodeOutputsUpdated(nodeOutputs) {
    forEachOutput(nodeOutputs, NODE_TYPES, showAnalysis);
  },
});
