// Evaluated in the ComfyUI page by the harness's ui_probe.py (check_frontend.py drives it):
// opens one example workflow, measures every node's drawn box, runs the pack's nodes of it
// with tiny models, exercises Copy, and reports what it saw as JSON. It judges nothing:
// check_frontend.py compares the numbers. Parameters: window.CI_CHECK, set by an --eval first.
(async () => {
  const cfg = window.CI_CHECK;
  const api = app.api;
  const PROMPT_TYPES = new Set(["CI_Interrogate", "CI_NegativePrompt", "CI_CaptionDataset"]);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const report = { frontend: window.__COMFYUI_FRONTEND_VERSION__ ?? null, workflow: cfg.workflow };

  // Uncaught errors of the page while this runs (ui_probe.py also reports them with their URLs).
  const uncaught = [];
  window.addEventListener("unhandledrejection", (e) => uncaught.push(String(e.reason?.stack ?? e.reason)));
  window.addEventListener("error", (e) => uncaught.push(String(e.error?.stack ?? e.message)));

  const graphNodes = () => [...(app.graph.nodes ?? app.graph._nodes)];
  const vueMode = () => !!document.querySelector(".lg-node[data-node-id]");

  // Screen rect -> graph units (the canvas draws at ds.scale, shifted by ds.offset).
  function toGraph(rect) {
    const c = app.canvas.canvas.getBoundingClientRect();
    const { scale, offset } = app.canvas.ds;
    const x = (rect.left - c.left) / scale - offset[0];
    const y = (rect.top - c.top) / scale - offset[1];
    return [x, y, x + rect.width / scale, y + rect.height / scale];
  }

  const union = (a, b) => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];

  // Nodes 2.0: the node's own DOM element. Classic: LiteGraph's bounding rect (title bar
  // included; refreshed by a draw), widened by any DOM widget that sticks out of it.
  function nodeBox(node) {
    if (vueMode()) {
      const el = document.querySelector(`.lg-node[data-node-id="${node.id}"]`);
      return el ? toGraph(el.getBoundingClientRect()) : null;
    }
    const [x, y, w, h] = node.boundingRect;
    let box = [x, y, x + w, y + h];
    for (const widget of node.widgets ?? []) {
      const el = widget.element;
      if (!el?.isConnected || !el.checkVisibility?.()) continue;
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) box = union(box, toGraph(r));
    }
    return box;
  }

  function measure() {
    if (!vueMode()) {
      app.canvas.setDirty(true, true);
      app.canvas.draw(true, true);
    }
    return graphNodes().map((node) => ({
      id: node.id,
      type: node.type,
      title: node.title,
      box: nodeBox(node)?.map((v) => Math.round(v * 10) / 10) ?? null,
    }));
  }

  // Images load and Vue nodes lay out asynchronously: measure until two readings agree.
  async function measureStable(timeoutMs = 15000) {
    let last = "";
    let same = 0;
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      await sleep(300);
      const boxes = measure();
      const key = JSON.stringify(boxes);
      same = key === last ? same + 1 : 0;
      last = key;
      if (same >= 2) return boxes;
    }
    return JSON.parse(last);
  }

  const promptWidget = (node) => node.widgets?.find((w) => w.name === "ci_prompt_display");
  const tableWidget = (node) => node.widgets?.find((w) => w.name === "ci_analysis_table");
  const ourNodes = () => graphNodes().filter((n) => PROMPT_TYPES.has(n.type) || n.type === "CI_Analyze");

  // Counts writes to a prompt box and tables drawn into an Analyze node: one result drawn twice
  // (onExecuted and onNodeOutputsUpdated both delivering it) would show up here.
  function instrument(node) {
    const counts = { fills: 0, tables: 0 };
    const area = promptWidget(node)?.area;
    if (area) {
      const proto = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value");
      Object.defineProperty(area, "value", {
        configurable: true,
        get: () => proto.get.call(area),
        set: (v) => {
          counts.fills += 1;
          proto.set.call(area, v);
        },
      });
    }
    const container = tableWidget(node)?.container;
    if (container) {
      new MutationObserver((records) => {
        for (const r of records) counts.tables += [...r.addedNodes].filter((n) => n.tagName === "TABLE").length;
      }).observe(container, { childList: true });
    }
    return counts;
  }

  // What a node shows against what the server sent it.
  function shown(node, output, counts) {
    const row = { id: node.id, type: node.type };
    if (PROMPT_TYPES.has(node.type)) {
      const value = promptWidget(node)?.area?.value ?? null;
      const expected = output?.text ? output.text.join("\n\n") : null;
      Object.assign(row, { filled: !!value, matches: expected !== null && value === expected, chars: value?.length ?? 0 });
    } else {
      const container = tableWidget(node)?.container;
      const rows = container?.querySelectorAll("tr").length ?? 0;
      const box = nodeBox(node);
      Object.assign(row, {
        filled: rows > 0,
        matches: (container?.querySelectorAll("table").length ?? 0) === (output?.ci_analysis?.length ?? -1),
        rows,
        height: box ? Math.round(box[3] - box[1]) : null,
        scrolls: !!container && container.scrollHeight > container.clientHeight + 1,
      });
    }
    if (counts) Object.assign(row, counts);
    return row;
  }

  // Offline only LoadImage and the pack's nodes can run: every other node is muted (left out
  // of the prompt, kept in the layout), a bypassed one passes its input on, and the tiny
  // models replace the real ones in the widgets. Queued as the Run button does, so the
  // frontend tracks the prompt (and its workflow's outputs) as for a user.
  function prepare(spec) {
    for (const node of graphNodes()) {
      if (spec.bypass?.includes(node.type)) node.mode = 4; // LGraphEventMode.BYPASS
      else if (node.type !== "LoadImage" && !node.type.startsWith("CI_")) node.mode = 2; // NEVER
      for (const [name, value] of Object.entries(spec.set?.[node.type] ?? {})) {
        const widget = node.widgets?.find((w) => w.name === name);
        if (widget) widget.value = value;
      }
    }
  }

  async function run(spec) {
    prepare(spec);
    const executed = {};
    let settle;
    const done = new Promise((resolve) => (settle = resolve));
    const handlers = {
      executed: ({ detail }) => (executed[String(detail.display_node ?? detail.node)] = detail.output),
      execution_success: () => settle({ ok: true }),
      execution_error: ({ detail }) => settle({ ok: false, error: `${detail.node_type}: ${detail.exception_message}` }),
      execution_interrupted: () => settle({ ok: false, error: "interrupted" }),
    };
    for (const [event, handler] of Object.entries(handlers)) api.addEventListener(event, handler);
    // A fresh executor cache: cached nodes report at once, before 1.27 has recorded the prompt
    // for its workflow, and such outputs would never come back on a tab switch.
    await api.fetchApi("/free", { method: "POST", body: JSON.stringify({ unload_models: true, free_memory: true }) });
    await sleep(1500);
    const t0 = Date.now();
    try {
      await app.queuePrompt(0, 1); // its boolean is no verdict: 1.27 answers false for node_errors {}
      const errors = app.extensionManager?.lastNodeErrors ?? app.lastNodeErrors;
      if (errors && Object.keys(errors).length) {
        return { ok: false, error: `not queued: ${JSON.stringify(errors).slice(0, 800)}` };
      }
      const timeout = sleep(cfg.run_timeout_s * 1000).then(() => ({ ok: false, error: "timeout" }));
      const end = await Promise.race([done, timeout]);
      return { ...end, seconds: (Date.now() - t0) / 1000, executed };
    } finally {
      for (const [event, handler] of Object.entries(handlers)) api.removeEventListener(event, handler);
    }
  }

  // Copy with the clipboard refused: the fallback must copy, and when that fails too the user
  // must be told; nothing may throw uncaught. The stubs stand in for a browser's refusals.
  async function copyCases(node) {
    const box = promptWidget(node)?.element;
    const button = box?.querySelector("button.ci-copy-prompt");
    const area = promptWidget(node)?.area;
    if (!button || !area) return { error: "no Copy button" };
    const clipboard = navigator.clipboard;
    // "ci-check:" marks the stubs' errors: uncaught, they can only have escaped the pack's handler.
    const denied = () => Promise.reject(new DOMException("ci-check: clipboard write refused", "NotAllowedError"));
    const before = uncaught.length;
    const results = {};
    const toast = app.extensionManager?.toast;
    async function press(label, write, exec) {
      (toast?.dismissAll ?? toast?.removeAll)?.call(toast); // each case must raise its own
      await sleep(300);
      if (clipboard) clipboard.writeText = write;
      document.execCommand = exec;
      area.blur();
      window.getSelection()?.removeAllRanges();
      let copied = null;
      const spy = document.execCommand;
      document.execCommand = function (command) {
        copied = document.body.lastElementChild?.value ?? null; // the scratch textarea
        return spy.call(this, command);
      };
      button.click();
      await sleep(400);
      results[label] = {
        button: button.textContent,
        fallback_copied: copied === area.value,
        prompt_selected: document.activeElement === area && area.selectionEnd - area.selectionStart === area.value.length,
        told: /blocked the clipboard/.test(document.body.innerText),
      };
    }
    try {
      await press("denied_fallback_ok", denied, () => true);
      await press("denied_fallback_false", denied, () => false);
      await press("denied_fallback_throws", denied, () => {
        throw new DOMException("ci-check: execCommand refused", "SecurityError");
      });
    } finally {
      if (clipboard) delete clipboard.writeText; // the stubs are own properties over the prototype's
      delete document.execCommand;
      area.blur();
    }
    // The real, unstubbed clipboard (headless Chromium usually refuses a click without a gesture).
    button.click();
    await sleep(400);
    results.real = { button: button.textContent };
    results.uncaught = uncaught.slice(before);
    return results;
  }

  // 1.27 has Vue nodes only as a hidden developer toggle; "Nodes 2.0" is a user setting later.
  const vueSetting = app.ui?.settings?.settingsLookup?.["Comfy.VueNodes.Enabled"];
  report.nodes2_offered = !!vueSetting && vueSetting.type !== "hidden";
  if (cfg.mode === "nodes2" && !report.nodes2_offered) return report;

  // --- open ---
  const wf = await (await fetch(`/api/workflow_templates/${cfg.pack}/${cfg.workflow}.json`)).json();
  await app.loadGraphData(wf, true, true, cfg.workflow);
  report.vue = vueMode();
  report.opened = await measureStable();

  // --- run ---
  if (cfg.run) {
    const counts = new Map(ourNodes().map((n) => [n, instrument(n)]));
    report.run = await run(cfg.run);
    await sleep(500);
    report.after_run = await measureStable();
    const executed = report.run.executed ?? {};
    report.shown = ourNodes()
      .filter((n) => executed[String(n.id)])
      .map((n) => shown(n, executed[String(n.id)], counts.get(n)));
    delete report.run.executed;
    report.run.outputs = Object.keys(executed);

    const withText = ourNodes().find((n) => PROMPT_TYPES.has(n.type) && promptWidget(n)?.area?.value);
    if (withText) report.copy = await copyCases(withText);

    // Switch to a new tab and back: the nodes are made anew and the frontend restores their
    // outputs through onNodeOutputsUpdated alone (no onExecuted).
    const before = new Set(graphNodes());
    try {
      await app.extensionManager.command.execute("Comfy.NewBlankWorkflow");
      await sleep(800);
      await app.extensionManager.command.execute("Workspace.PreviousOpenedWorkflow");
      await sleep(800);
      const after = await measureStable();
      report.restored = {
        handed: Object.keys(app.nodeOutputs ?? {}), // what the frontend gave onNodeOutputsUpdated
        new_nodes: ourNodes().every((n) => !before.has(n)),
        shown: ourNodes()
          .filter((n) => executed[String(n.id)])
          .map((n) => shown(n, executed[String(n.id)])),
        boxes: after,
      };
    } catch (e) {
      report.restored = { error: String(e?.stack ?? e) };
    }
  }

  // For the screenshot ui_probe.py takes next: no toasts, the image and the pack's nodes in view
  // at a readable zoom (the whole graph would be drawn in LiteGraph's low-detail mode).
  const toast = app.extensionManager?.toast;
  (toast?.dismissAll ?? toast?.removeAll)?.call(toast);
  const framed = measure().filter((n) => n.box && (n.type.startsWith("CI_") || n.type === "LoadImage"));
  const [x0, y0, x1, y1] = framed.map((n) => n.box).reduce(union);
  app.canvas.ds.fitToBounds([x0, y0, x1 - x0, y1 - y0], { zoom: 0.8 });
  app.canvas.setDirty(true, true);
  await sleep(800);
  report.uncaught = uncaught;
  return report;
})();
