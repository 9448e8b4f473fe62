// Shows the prompts of Interrogate / NegativePrompt (Caption Dataset: its summary) after a run: a read-only
// text area (never saved into the workflow) with a copy-to-clipboard button.
import { app } from "../../../scripts/app.js"; // served from /extensions/<pack>/js/

const NODE_TYPES = new Set(["CI_Interrogate", "CI_NegativePrompt", "CI_CaptionDataset"]);
const WIDGET_NAME = "ci_prompt_display";

async function copyText(text) {
  if (navigator.clipboard?.writeText) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const scratch = Object.assign(document.createElement("textarea"), { value: text });
  document.body.append(scratch);
  scratch.select();
  document.execCommand("copy");
  scratch.remove();
}

function buildDisplay(what) {
  const box = document.createElement("div");
  box.className = "ci-prompt-display";
  box.style.cssText = "display:flex;flex-direction:column;gap:4px;width:100%;height:100%;";
  const area = document.createElement("textarea");
  area.readOnly = true;
  area.className = "comfy-multiline-input";
  area.placeholder = `The ${what} appears here after a run.`;
  area.style.cssText = "flex:1;min-height:60px;resize:none;opacity:0.85;";
  const button = document.createElement("button");
  button.textContent = "Copy prompt";
  button.className = "ci-copy-prompt";
  button.addEventListener("click", async () => {
    await copyText(area.value);
    button.textContent = "Copied";
    setTimeout(() => (button.textContent = "Copy prompt"), 1200);
  });
  box.append(area, button);
  return { box, area };
}

function display(node) {
  const existing = node.widgets?.find((w) => w.name === WIDGET_NAME);
  if (existing) return existing;
  const { box, area } = buildDisplay(node.comfyClass === "CI_CaptionDataset" ? "summary" : "prompt");
  const widget = node.addDOMWidget(WIDGET_NAME, "ci_prompt", box, {
    serialize: false,
    getValue: () => area.value,
    setValue: (value) => (area.value = value ?? ""),
    getMinHeight: () => 100,
  });
  widget.serialize = false; // shown, never saved into the workflow
  widget.area = area;
  return widget;
}

app.registerExtension({
  name: "ci_interrogator.promptDisplay",
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (!NODE_TYPES.has(nodeData.name)) return;
    const onNodeCreated = nodeType.prototype.onNodeCreated;
    nodeType.prototype.onNodeCreated = function () {
      const result = onNodeCreated?.apply(this, arguments);
      display(this);
      return result;
    };
    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      onExecuted?.apply(this, arguments);
      display(this).area.value = (message?.text ?? []).join("\n\n");
    };
  },
});
