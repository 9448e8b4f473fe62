"""Judging one probe's report: overlaps, console errors, prompt boxes, Analyze height, Copy;
and the table of results."""

from __future__ import annotations

import re
from itertools import combinations

from comfy_harness import PACK

MAX_ANALYZE_HEIGHT = 500
PROMPT_TYPES = {"CI_Interrogate", "CI_NegativePrompt", "CI_CaptionDataset"}

# Console errors that are not the pack's and are ignored, each with why. Anything else that is
# not the pack's is listed as "other" and also fails the check, so a new kind gets looked at.
NOISE = [
    # 1.5x frontends ask for /api/jobs, which the 0.3.64 backend lacks ("Jobs API" 404s).
    (r"Jobs API|JobsApiError|/api/jobs\b", "jobs-api-404"),
    # Optional resources the stock frontend probes for: a user stylesheet, saved workflow and
    # subgraph lists, template metadata, global subgraphs (404 on a fresh base directory).
    (r"404 \(Not Found\) \S*/(api/userdata|user\.css|api/global_subgraphs)", "optional-resource-404"),
    # 1.27 at page load: a setting's onChange sets another before it is registered (stock bug).
    (r"reading 'id'\)[\s\S]*at Proxy\.addSetting", "1.27-settings-startup"),
    (r"404 \(Not Found\) \S*/favicon\.ico", "favicon-404"),
    # Requests to hosts outside the machine (model download links of the default graph, ...).
    (r"net::ERR_(NAME_NOT_RESOLVED|INTERNET_DISCONNECTED|CONNECTION_REFUSED|PROXY)\S* https?://(?!127\.)", "offline"),
]


def overlaps(boxes) -> list[str]:
    """Pairs of drawn node boxes ([x0, y0, x1, y1], graph units) that share any area."""
    found = [b for b in boxes or [] if b["box"]]

    def overlap(a, b):
        return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

    return [
        f"{a['id']}:{a['type']} x {b['id']}:{b['type']}"
        for a, b in combinations(found, 2)
        if overlap(a["box"], b["box"])
    ]


def min_gap(boxes) -> float | None:
    """The smallest distance between two drawn node boxes (negative: they overlap)."""
    found = [b["box"] for b in boxes or [] if b["box"]]
    gaps = [max(b[0] - a[2], a[0] - b[2], b[1] - a[3], a[1] - b[3]) for a, b in combinations(found, 2)]
    return round(min(gaps)) if gaps else None


def classify_console(probe_out: dict, report: dict) -> dict[str, list[str]]:
    """Pack errors (they mention the pack's /extensions/ URL, its extension names, or are the
    check's clipboard stubs' errors escaping Copy's handler), ignored noise, other."""
    messages = probe_out.get("console_errors", []) + probe_out.get("exceptions", []) + report.get("uncaught", [])
    out: dict[str, list[str]] = {"pack": [], "ignored": [], "other": []}
    for text in filter(None, messages):
        if f"/extensions/{PACK}/" in text or "ci_interrogator." in text or "ci-check:" in text:
            out["pack"].append(text)
        elif any(re.search(pattern, text) for pattern, _ in NOISE):
            out["ignored"].append(next(tag for pattern, tag in NOISE if re.search(pattern, text)))
        else:
            out["other"].append(text)
    return out


def judge_copy(copy: dict | None) -> list[str]:
    """Refused clipboard: the fallback copies; refused fallback too: the prompt selected, the user told."""
    if copy is None:
        return []
    fails = []
    ok = copy.get("denied_fallback_ok", {})
    if not (ok.get("button") == "Copied" and ok.get("fallback_copied")):
        fails.append(f"copy: clipboard refused, fallback not used: {ok}")
    for case in ("denied_fallback_false", "denied_fallback_throws"):
        got = copy.get(case, {})
        if not (got.get("prompt_selected") and got.get("told") and got.get("button", "").startswith("Press")):
            fails.append(f"copy: {case}: user not told / prompt not selected: {got}")
    if copy.get("uncaught") or copy.get("error"):
        fails.append(f"copy: {copy.get('error') or copy.get('uncaught')}")
    return fails


def judge_shown(rows, stage: str, should_run: bool) -> list[str]:
    """Each pack node shows exactly what the server sent, drawn once; Analyze stays short."""
    fails = []
    for row in rows or []:
        if not (row.get("filled") and row.get("matches")):
            fails.append(f"{stage}: node {row['id']} {row['type']} not filled with the server's output: {row}")
        if row.get("fills", 0) > 1 or row.get("tables", 0) > 1:
            fails.append(f"{stage}: node {row['id']} drawn more than once: {row}")
        if row["type"] == "CI_Analyze" and (row.get("height") or 0) >= MAX_ANALYZE_HEIGHT:
            fails.append(f"{stage}: Analyze is {row['height']} px tall (limit {MAX_ANALYZE_HEIGHT})")
    if stage == "run" and should_run and not rows:
        fails.append("run: no pack node showed an output")
    return fails


def judge_restored(restored: dict) -> list[str]:
    """After the tab switch, every output the frontend handed back must be shown again."""
    if restored.get("error"):
        return [f"restore: {restored['error']}"]
    handed = [r for r in restored.get("shown") or [] if str(r["id"]) in restored.get("handed", [])]
    if not handed:
        return ["restored: the frontend handed back none of the pack nodes' outputs"]
    fails = [] if restored.get("new_nodes") else ["restored: the nodes were not made anew (no restore path tested)"]
    return fails + judge_shown(handed, "restored", False)


def failures(report: dict, probe_out: dict, mode: str, should_run: bool) -> tuple[list[str], dict]:
    """Every failure of one case, and the console messages sorted into pack / ignored / other."""
    result = (probe_out.get("results") or [{}])[-1]
    fails = [f"probe: {result.get('error')}"] if not result.get("ok") else []
    if report and report.get("vue") != (mode == "nodes2"):
        fails.append(f"mode: Vue nodes {'not ' if mode == 'nodes2' else ''}rendered")
    console = classify_console(probe_out, report)
    fails += [f"pack console error: {t[:300]}" for t in console["pack"]]
    fails += [f"other console error: {t[:300]}" for t in console["other"]]
    fails += [f"overlap ({stage}): {pair}" for stage, boxes in stages(report).items() for pair in overlaps(boxes)]
    run = report.get("run") or {}
    if should_run and not run.get("ok"):
        fails.append(f"run failed: {run.get('error')}")
    fails += judge_shown(report.get("shown"), "run", should_run)
    if run.get("ok"):
        fails += judge_restored(report.get("restored") or {})
    if should_run and report.get("copy") is None and any(r["type"] in PROMPT_TYPES for r in shown_rows(report)):
        fails.append("copy: not tried (no prompt box had text)")
    return fails + judge_copy(report.get("copy")), console


def shown_rows(report: dict) -> list[dict]:
    return report.get("shown") or []


def stages(report: dict) -> dict:
    """The node boxes as opened, after the run, after the tab switch back."""
    restored = report.get("restored") or {}
    return {"open": report.get("opened"), "run": report.get("after_run"), "restored": restored.get("boxes")}


def judge(probe_out: dict, mode: str, should_run: bool) -> dict:
    """One row of the table (with its failures) for one frontend x mode x workflow."""
    report = ((probe_out.get("results") or [{}])[-1]).get("value") or {}
    if mode == "nodes2" and report.get("nodes2_offered") is False:
        skipped = "no Nodes 2.0 in this frontend"
        return {"frontend": report.get("frontend"), "overlaps": skipped, "status": "n/a", "fails": []}
    fails, console = failures(report, probe_out, mode, should_run)
    boxes = stages(report).values()
    gaps = [g for g in map(min_gap, boxes) if g is not None]
    shown, restored, run = report.get("shown") or [], report.get("restored") or {}, report.get("run") or {}
    analyze = [r["height"] for r in shown if r["type"] == "CI_Analyze"]
    prompts = [r for r in shown if r["type"] in PROMPT_TYPES]
    return {
        "frontend": report.get("frontend"),
        "overlaps": "/".join(str(len(overlaps(b))) for b in boxes),
        "min_gap": min(gaps) if gaps else "-",
        "pack_err": len(console["pack"]),
        "ignored": len(console["ignored"]),
        "other_err": len(console["other"]),
        "prompt": "-" if not prompts else "yes" if all(r["filled"] and r["matches"] for r in prompts) else "NO",
        "restored": "-" if not restored else "yes" if not judge_restored(restored) else "NO",
        "analyze_h": max(analyze) if analyze else "-",
        "copy": "-" if report.get("copy") is None else "ok" if not judge_copy(report.get("copy")) else "FAIL",
        "run_s": round(run["seconds"], 1) if run.get("seconds") else "-",
        "status": "FAIL" if fails else "ok",
        "fails": fails,
    }


COLUMNS = ["frontend", "mode", "workflow", "overlaps", "min_gap", "pack_err", "other_err", "ignored",
           "prompt", "restored", "analyze_h", "copy", "run_s", "status"]  # fmt: skip


def say(text: str) -> None:
    print(text, flush=True)  # noqa: T201 (this script's output is its report)


def print_table(rows):
    cells = [[str(r.get(c, "")) for c in COLUMNS] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(COLUMNS)]
    say("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)))
    for row in cells:
        say("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    say("overlaps: node pairs overlapping as opened / after the run / after a tab switch back;")
    say("min_gap: the least distance in px between two node boxes in any of those three")
    for r in rows:
        for fail in r["fails"]:
            say(f"FAIL {r['frontend']} {r['mode']} {r['workflow']}: {fail}")
