// The execution page, live. The page works without this file; with it:
// - the DAG's steps, the steps table, the run's and the step's status follow the run as it
//   changes (server-sent events from /api/v1/executions/{id}/events; polling the execution
//   every 2 s when EventSource is missing or keeps failing);
// - when what the page shows changes shape (the run ends, the chosen step waits, fails,
//   succeeds, retries…), the header and the step panel are fetched again from the server;
// - the step's log grows as the step writes it (text appended as text, never as HTML).
"use strict";
(function () {
  const root = document.getElementById("execution");
  if (!root) return;
  const id = root.dataset.execution;
  const chosen = root.dataset.chosen || "";
  const OPEN = ["created", "running", "waiting_input"];
  const POLL_MS = 2000;
  const LOG_MS = 1000;
  const LOG_MAX_CHARS = 2000000;
  const api = "/api/v1/executions/" + encodeURIComponent(id);

  // As web/dag.py words them.
  const words = (status) =>
    status === "waiting_input" ? "waiting for input" : String(status).replace(/_/g, " ");
  // As web/render.py's duration filter writes them.
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "\u2014";
    if (seconds < 1) return Math.round(seconds * 1000) + " ms";
    if (seconds < 60) return seconds.toFixed(1) + " s";
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + Math.floor(seconds % 60) + " s";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }
  const panel = () => document.getElementById("step-panel");
  const panelStep = () => (panel() ? panel().dataset.step : "");
  const statusOf = (el) => (el ? (el.className.match(/\bstatus\s+(\S+)/) || [])[1] : undefined);

  function setStatus(el, status) {
    if (!el || statusOf(el) === status) return;
    el.className = "status " + status;
    el.textContent = words(status);
  }

  // What the server rendered, to tell whether the first event already differs from it.
  const stepStatus = {};
  let runStatus = statusOf(document.querySelector("[data-run-status]"));
  if (panelStep()) stepStatus[panelStep()] = statusOf(document.querySelector("[data-panel-status]"));
  let shown = null;

  function shape(execution) {
    // What, when it changes, needs the server's page again (the statuses alone do not).
    const mine = panelStep();
    const parts = [execution.status];
    for (const step of execution.steps) {
      if (step.name === mine) {
        parts.push([step.name, step.status, step.attempt, step.error, step.outputs,
          step.metrics, step.waiting_for.map((w) => w.name)]);
      } else if (!chosen) {
        parts.push([step.name, step.status, step.attempt]);
      }
    }
    return JSON.stringify(parts);
  }

  function apply(execution) {
    const mine = panelStep();
    const before = { run: runStatus, step: stepStatus[mine] };
    document.querySelectorAll("[data-run-status]").forEach((el) => setStatus(el, execution.status));
    runStatus = execution.status;
    document.querySelectorAll("[data-run-duration]").forEach((el) => {
      el.textContent = duration(execution.duration_seconds);
    });
    for (const step of execution.steps) {
      stepStatus[step.name] = step.status;
      document.querySelectorAll("svg.dag .node").forEach((node) => {
        if (node.dataset.step !== step.name) return;
        if (node.dataset.status !== step.status) node.dataset.status = step.status;
        const text = node.querySelector(".node-status");
        if (text && text.textContent !== words(step.status)) text.textContent = words(step.status);
      });
      document.querySelectorAll("[data-step-row]").forEach((row) => {
        if (row.dataset.stepRow !== step.name) return;
        setStatus(row.querySelector("[data-step-status]"), step.status);
        const attempt = row.querySelector("[data-step-attempt]");
        if (attempt) attempt.textContent = String(step.attempt);
        const took = row.querySelector("[data-step-duration]");
        if (took) took.textContent = duration(step.duration_seconds);
      });
      if (step.name === mine) setStatus(document.querySelector("[data-panel-status]"), step.status);
    }
    const now = shape(execution);
    if (shown === null) {
      shown = now;
      const mineNow = execution.steps.find((s) => s.name === mine);
      if (before.run !== execution.status || (mineNow && before.step !== mineNow.status)) refresh();
    } else if (now !== shown) {
      shown = now;
      refresh();
    }
  }

  // --- the page's parts again, from the server ------------------------------------------------
  let refreshing = false;
  let again = false;
  async function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    try {
      // The page's own address (after a refused form, the location is the form's).
      const answer = await fetch(root.dataset.page || location.pathname + location.search, {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" },
      });
      if (answer.ok) {
        const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
        document.querySelectorAll("[data-live-part]").forEach((part) => {
          const next = fresh.getElementById(part.id);
          if (next) part.replaceWith(document.importNode(next, true));
        });
        markSelected();
        startLog();
      }
    } catch (error) {
      // The next change tries again.
    } finally {
      refreshing = false;
      if (again) { again = false; refresh(); }
    }
  }

  function markSelected() {
    // Without ?step= the panel follows the run: the steps table marks the step it shows.
    const mine = panelStep();
    document.querySelectorAll("[data-step-row]").forEach((row) => {
      const selected = row.dataset.stepRow === mine;
      row.classList.toggle("selected", selected);
      if (selected) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    });
  }

  // --- live status: events, else polling ------------------------------------------------------
  function startPolling() {
    const tick = async () => {
      try {
        const answer = await fetch(api, {
          credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
        });
        if (answer.status === 404) return;
        if (answer.ok) {
          const execution = await answer.json();
          apply(execution);
          if (!OPEN.includes(execution.status)) return;
        }
      } catch (error) {
        // The server is away for a moment: ask again.
      }
      setTimeout(tick, POLL_MS);
    };
    tick();
  }

  function connect() {
    if (!window.EventSource) { startPolling(); return; }
    let failures = 0;
    const source = new EventSource(api + "/events");
    source.addEventListener("execution", (event) => {
      failures = 0;
      apply(JSON.parse(event.data));
    });
    source.addEventListener("end", () => source.close());
    source.onerror = () => {
      failures += 1;
      if (source.readyState === EventSource.CLOSED || failures >= 3) {
        source.close();
        startPolling();
      }
    };
  }

  // --- the log tail ---------------------------------------------------------------------------
  let generation = 0;
  function startLog() {
    const pre = document.getElementById("log");
    generation += 1;
    const mine = generation;
    if (!pre || !pre.dataset.logUrl) return;
    const step = panelStep();
    const note = document.querySelector("[data-log-note]");
    let offset = Number(pre.dataset.logOffset || 0);
    let attempt = pre.dataset.logAttempt || "";
    let decoder = new TextDecoder();

    const trim = () => {
      while (pre.firstChild && pre.textContent.length > LOG_MAX_CHARS) pre.removeChild(pre.firstChild);
    };
    const poll = async () => {
      if (mine !== generation) return;
      let got = 0;
      try {
        const answer = await fetch(pre.dataset.logUrl + "?offset=" + offset, {
          credentials: "same-origin", cache: "no-store",
        });
        if (mine !== generation) return;
        if (answer.ok) {
          const now = answer.headers.get("X-Log-Attempt") || "";
          if (attempt && now && now !== attempt) {
            // A new attempt writes its own log: show it from its start.
            attempt = now;
            offset = 0;
            decoder = new TextDecoder();
            pre.textContent = "";
            setTimeout(poll, 0);
            return;
          }
          attempt = now || attempt;
          const bytes = await answer.arrayBuffer();
          got = bytes.byteLength;
          if (got) {
            offset += got;
            const atEnd = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
            pre.append(document.createTextNode(decoder.decode(bytes, { stream: true })));
            trim();
            if (atEnd) pre.scrollTop = pre.scrollHeight;
            if (note) note.textContent = "";
          }
        }
      } catch (error) {
        // Try again at the next tick.
      }
      if (got) setTimeout(poll, 50);
      else if (stepStatus[step] === "running") setTimeout(poll, LOG_MS);
    };
    // Only a running step writes: the page already holds the end of any other step's log
    // (a step that starts running changes the panel, which starts this again).
    if (stepStatus[step] === "running") poll();
  }

  connect();
  startLog();
})();
