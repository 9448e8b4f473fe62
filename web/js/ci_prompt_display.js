// Shows the prompts of Interrogate / NegativePrompt (Caption Dataset: its summary) after a run: a read-only
// text area (never saved into the workflow) with a copy-to-clipboard button.
import { app } from "../../../scripts/app.js"; // served from /extensions/<pack>/js/
import { forEachOutput } from "./common/node_outputs.js";

const NODE_TYPES = new Set(["CI_Interrogate", "CI_NegativePrompt", "CI_CaptionDataset"]);
const WIDGET_NAME = "ci_prompt_display";

// execCommand is deprecated but still copies a selection where the async Clipboard API is
// refused (NotAllowedError without permission or focus) or missing (plain http on a LAN address).
function copyBySelection(text) {
  const scratch = Object.assign(document.createElement("textarea"), { value: text, readOnly: true });
  scratch.style.cssText = "position:fixed;top:0;left:0;opacity:0;pointer-events:none;";
  document.body.append(scratch);
  scratch.select();
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  } finally {
    scratch.remove();
  }
}

// Resolves to whether the text reached the clipboard; never rejects, so a click can't leave an
// uncaught promise behind.
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return copyBySelection(text);
  }
}

// Both ways failed: leave the prompt selected so Ctrl+C works, and say so where the user looks.
function offerManualCopy(area) {
  area.focus();
  area.select();
  app.extensionManager?.toast?.add({
    severity: "warn",
    summary: "Copy prompt",
    detail: "The browser blocked the clipboard. The prompt is selected: press Ctrl+C (⌘C) to copy it.",
    life: 5000,
  });
}

function flash(button, label) {
  button.textContent = label;
  clearTimeout(button.ciReset);
  button.ciReset = setTimeout(() => (button.textContent = "Copy prompt"), 2000);
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
    const copied = await copyText(area.value);
    if (!copied) offerManualCopy(area);
    flash(button, copied ? "Copied" : "Press Ctrl+C to copy");
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

// Both output paths may deliver the same message; writing the same text twice is a no-op.
function showPrompt(node, output) {
  if (!Array.isArray(output?.text)) return;
  const text = output.text.join("\n\n");
  const { area } = display(node);
  if (area.value !== text) area.value = text;
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
      showPrompt(this, message);
    };
  },
  onNodeOutputsUpdated(nodeOutputs) {
    forEachOutput(nodeOutputs, NODE_TYPES, showPrompt);
  },
});
