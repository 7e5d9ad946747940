// evertask dashboard: the live stream (Server-Sent Events) with its polling fallback, the throughput chart,
// the tasks list's selection, copy buttons, and the live events page. Pages are server-rendered; htmx swaps
// their live regions when "evertask:changed" fires on the body.
(function () {
  "use strict";
  var POLL_MS = 5000;
  var evertask = (window.evertask = {});
  var source = null;
  var streamWithEvents = false;
  var pollTimer = null;
  var lastSeq = 0;

  function page() {
    var el = document.getElementById("page");
    return el ? el.dataset : {};
  }

  // -- live stream ------------------------------------------------------------------------------------------

  var shownState = ["off", "Connecting…"];

  function setState(state, text) {
    shownState = [state, text];
    var el = document.getElementById("live-state");
    if (!el) return;
    el.dataset.state = state;
    el.textContent = text;
    el.title = state === "live" ? "Updates arrive as they happen" : "Updates every " + POLL_MS / 1000 + " s";
  }

  function changed(detail) {
    document.body.dispatchEvent(new CustomEvent("evertask:changed", { detail: detail }));
  }

  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(function () {
      changed({ tasks: [], more: true });
      if (page().page === "live") pollEvents();
    }, POLL_MS);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  function pollEvents() {
    fetch("/live/events?after=" + lastSeq, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { events: [] }; })
      .then(function (body) { body.events.forEach(onTask); })
      .catch(function () {});
  }

  function connect() {
    if (!document.getElementById("live-state")) return; // the sign-in page has no stream
    var withEvents = page().page === "live";
    if (source && source.readyState !== EventSource.CLOSED && withEvents === streamWithEvents) return;
    if (source) source.close();
    streamWithEvents = withEvents;
    source = new EventSource("/live/stream" + (withEvents ? "?events=1" : ""));
    source.addEventListener("hello", function (e) {
      var hello = JSON.parse(e.data);
      if (hello.source === "none") {
        setState("polling", "Polling");
        startPolling();
      } else {
        setState("live", "Live");
        stopPolling();
        changed({ tasks: [], more: true }); // catch up with what happened while disconnected
      }
    });
    source.addEventListener("changed", function (e) { changed(JSON.parse(e.data)); });
    source.addEventListener("task", function (e) { onTask(JSON.parse(e.data)); });
    source.onerror = function () {
      setState("polling", "Reconnecting…");
      startPolling();
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(function () { source = null; connect(); }, POLL_MS);
      }
    };
  }

  evertask.concerns = function (event, taskId) {
    var d = event.detail || {};
    return d.more || (d.tasks || []).indexOf(taskId) >= 0;
  };

  evertask.canRefreshList = function () {
    return !document.querySelector("#tasks-table input[name=id]:checked");
  };

  // -- throughput chart ---------------------------------------------------------------------------------------

  var chartRange = "minute";
  var chart = null;

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function drawChart() {
    var box = document.getElementById("chart");
    var data = document.getElementById("chart-data");
    if (!box || !data || !window.uPlot) return;
    var series = JSON.parse(data.textContent)[chartRange];
    if (chart) chart.destroy();
    box.textContent = "";
    var steps = window.uPlot.paths.stepped({ align: 1 }); // each bucket counts [start, start + width)
    var axis = { stroke: css("--muted"), grid: { stroke: css("--line"), width: 1 }, ticks: { stroke: css("--line") } };
    chart = new window.uPlot(
      {
        width: Math.max(280, box.clientWidth),
        height: 220,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(4, max)]; } } },
        axes: [axis, Object.assign({ size: 44 }, axis)],
        series: [
          {},
          { label: "completed", stroke: css("--st-completed"), fill: css("--st-completed-bg"), width: 2, paths: steps, points: { show: false } },
          { label: "failed", stroke: css("--st-failed"), width: 2, paths: steps, points: { show: false } },
        ],
      },
      series,
      box
    );
    box.setAttribute(
      "aria-label",
      "Completed and failed executions per " + chartRange + " over the last " + (chartRange === "minute" ? "hour" : "day")
    );
    document.querySelectorAll("[data-range]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.range === chartRange));
    });
  }

  window.addEventListener("resize", function () {
    if (chart && document.getElementById("chart")) drawChart();
  });

  // -- tasks list selection ------------------------------------------------------------------------------------

  function updateSelection() {
    var boxes = document.querySelectorAll("#tasks-table input[name=id]");
    var ticked = document.querySelectorAll("#tasks-table input[name=id]:checked").length;
    var all = document.getElementById("all-matching");
    var label = document.getElementById("selected-count");
    if (label) {
      label.textContent = all && all.checked ? "All tasks matching the filter" : ticked ? ticked + " selected" : "No rows selected";
    }
    var head = document.getElementById("select-page");
    if (head) {
      head.checked = boxes.length > 0 && ticked === boxes.length;
      head.indeterminate = ticked > 0 && ticked < boxes.length;
    }
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.id === "select-page") {
      document.querySelectorAll("#tasks-table input[name=id]").forEach(function (b) { b.checked = t.checked; });
    }
    if (t.id === "select-page" || t.name === "id" || t.id === "all-matching") updateSelection();
  });

  // -- copy buttons and the chart's range --------------------------------------------------------------------

  document.addEventListener("click", function (e) {
    var button = e.target.closest("button");
    if (!button) return;
    if (button.dataset.range) {
      chartRange = button.dataset.range;
      drawChart();
    }
    var text = button.dataset.copy;
    if (button.dataset.copyFrom) text = document.getElementById(button.dataset.copyFrom).textContent;
    if (text !== undefined && navigator.clipboard) {
      navigator.clipboard.writeText(text).then(function () {
        var before = button.textContent;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = before; }, 1200);
      });
    }
  });

  // -- live events page --------------------------------------------------------------------------------------

  var kept = [];
  var paused = false;
  var heldBack = 0;

  function keep() {
    return parseInt(page().keep || "500", 10);
  }

  function matches(ev, needle) {
    if (!needle) return true;
    return [ev.kind, ev.type, ev.queue, ev.task_id, ev.detail || "", ev.actor || ""].join(" ").toLowerCase().indexOf(needle) >= 0;
  }

  function cell(tr, text, className, title) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    if (title) td.title = title;
    tr.appendChild(td);
    return td;
  }

  var KIND_STATUS = {
    dispatched: "queued", started: "in_progress", completed: "completed", failed: "failed", retrying: "failed",
    timed_out: "failed", cancelled: "cancelled", dropped: "cancelled", deferred: "pending", recovered: "service_stopped",
    service_stopped: "service_stopped", retried: "queued", paused: "paused", resumed: "pending", changed: "pending",
  };

  function row(ev) {
    var tr = document.createElement("tr");
    var at = new Date(ev.at);
    cell(tr, at.toLocaleTimeString([], { hour12: false }) + "." + String(at.getMilliseconds()).padStart(3, "0"), "nowrap mono", ev.at);
    var badge = document.createElement("span");
    badge.className = "badge st-" + (KIND_STATUS[ev.kind] || "pending");
    badge.textContent = ev.kind.replace("_", " ");
    cell(tr, "").appendChild(badge);
    var type = cell(tr, "", "type");
    var link = document.createElement("a");
    link.href = "/tasks/" + ev.task_id;
    link.textContent = ev.type.split(".").pop();
    link.title = ev.type;
    type.appendChild(link);
    cell(tr, ev.queue, "nowrap");
    var detail = [ev.attempt ? "attempt " + ev.attempt : "", ev.detail || "", ev.actor ? "by " + ev.actor : ""].filter(Boolean).join(" · ");
    cell(tr, detail, "hide-narrow" + (ev.kind === "failed" || ev.kind === "retrying" ? " err" : ""), detail);
    cell(tr, ev.task_id.slice(-8), "id hide-narrow", ev.task_id);
    return tr;
  }

  function renderEvents() {
    var body = document.getElementById("events");
    if (!body) return;
    var needle = (document.getElementById("live-filter").value || "").trim().toLowerCase();
    var shown = kept.filter(function (ev) { return matches(ev, needle); });
    body.textContent = "";
    for (var i = shown.length - 1; i >= 0; i--) body.appendChild(row(shown[i]));
    countEvents(shown.length);
  }

  function countEvents(shown) {
    var count = document.getElementById("live-count");
    var text = kept.length + " event" + (kept.length === 1 ? "" : "s");
    if (shown !== kept.length) text = shown + " of " + text;
    if (paused && heldBack) text += " · " + heldBack + " new while paused";
    if (count) count.textContent = text;
    var empty = document.getElementById("live-empty");
    if (empty) empty.hidden = kept.length > 0;
  }

  function onTask(ev) {
    if (ev.seq <= lastSeq) return;
    lastSeq = ev.seq;
    kept.push(ev);
    if (kept.length > keep()) kept.splice(0, kept.length - keep());
    var body = document.getElementById("events");
    if (!body) return;
    if (paused) {
      heldBack += 1;
      countEvents(body.children.length);
      return;
    }
    var needle = (document.getElementById("live-filter").value || "").trim().toLowerCase();
    if (matches(ev, needle)) {
      var tr = row(ev);
      tr.className = "fresh";
      body.insertBefore(tr, body.firstChild);
      while (body.children.length > keep()) body.removeChild(body.lastChild);
    }
    countEvents(body.children.length);
  }

  function initLive() {
    var recent = document.getElementById("live-recent");
    if (!recent) return;
    kept = [];
    lastSeq = 0;
    JSON.parse(recent.textContent).forEach(function (ev) { kept.push(ev); lastSeq = Math.max(lastSeq, ev.seq); });
    paused = false;
    heldBack = 0;
    renderEvents();
    document.getElementById("live-pause").onclick = function () {
      paused = !paused;
      this.setAttribute("aria-pressed", String(paused));
      this.textContent = paused ? "Resume" : "Pause";
      if (!paused) {
        heldBack = 0;
        renderEvents();
      } else countEvents(document.getElementById("events").children.length);
    };
    document.getElementById("live-clear").onclick = function () {
      kept = [];
      heldBack = 0;
      renderEvents();
    };
    document.getElementById("live-filter").oninput = renderEvents;
  }

  // -- the filter's address: only what was chosen, so that a bookmark reads well ------------------------------

  var DEFAULTS = { sort: "created", order: "desc" };

  document.addEventListener("htmx:configRequest", function (e) {
    if (!e.detail.elt.matches || !e.detail.elt.matches("form[role=search]")) return;
    var params = e.detail.parameters;
    Array.from(params.keys ? params.keys() : Object.keys(params)).forEach(function (key) {
      var value = params.get ? params.get(key) : params[key];
      if (value === "" || DEFAULTS[key] === value) params.delete ? params.delete(key) : delete params[key];
    });
  });

  // -- page setup (first load, and each page htmx swaps in) ------------------------------------------------------

  function init() {
    setState(shownState[0], shownState[1]); // a page swapped in shows the stream's state too
    connect();
    drawChart();
    updateSelection();
    if (page().page === "live") initLive();
  }

  document.addEventListener("DOMContentLoaded", function () {
    init();
    document.body.addEventListener("htmx:afterSettle", function (e) {
      if (e.detail.target === document.body) init();
      else {
        drawChart();
        updateSelection();
      }
    });
  });
})();
