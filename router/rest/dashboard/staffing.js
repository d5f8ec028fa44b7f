// The staffing page: GET /v1/reports/staffing for a queue (docs/planning.md), drawn with
// uPlot: arrivals measured and forecast, the agents required, to schedule and on duty, the
// days ahead and the under-staffed intervals. The query is in the address (?queue=…&since=…)
// so a view can be shared.
(function () {
  "use strict";
  var $ = SB.$, text = SB.text, pct = SB.pct, dur = SB.dur;
  var fields = ["queue", "channel", "since", "interval", "target", "shrinkage", "days"];
  var params = new URLSearchParams(location.search);
  var charts = {};

  function setOptions(queues) {
    var want = params.get("queue") || queues[0] || "";
    $("queue").innerHTML = queues.map(function (q) { return "<option" + (q === want ? " selected" : "") + ">" + q + "</option>"; }).join("");
    fields.forEach(function (f) {
      var v = params.get(f);
      if (v === null || f === "queue") return;
      var el = $(f);
      if (el.tagName === "SELECT" && !Array.prototype.some.call(el.options, function (o) { return (o.value || o.text) === v; })) {
        el.insertAdjacentHTML("beforeend", "<option>" + v + "</option>");
      }
      el.value = v;
    });
  }

  function query() {
    var q = new URLSearchParams();
    fields.forEach(function (f) { if ($(f).value !== "") q.set(f, $(f).value); });
    return q;
  }

  function chart(id, series, data, tz) {
    var el = $(id);
    if (charts[id]) charts[id].destroy();
    charts[id] = new uPlot({
      width: el.clientWidth || 1200, height: 240,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), tz); },
      scales: { y: { range: function (u, min, max) { return [0, Math.max(1, max) * 1.15]; } } },
      series: [{}].concat(series.map(function (s) {
        return { label: s.label, stroke: s.stroke, fill: s.fill, dash: s.dash, width: s.width || 1.5, points: { show: false },
          paths: uPlot.paths.stepped({ align: 1 }), spanGaps: false };
      }))
    }, data, el);
  }

  function render(rep) {
    var rows = rep.rows, xs = [], measured = [], forecast = [], required = [], scheduled = [], staffed = [];
    var under = [], over = 0, last = -1;
    rows.forEach(function (r, i) {
      xs.push(Date.parse(r.start) / 1000);
      measured.push(r.forecast ? null : r.arrivals);
      forecast.push(r.forecast ? r.arrivals : null);
      if (r.forecast && last < 0 && i > 0) { forecast[i - 1] = rows[i - 1].arrivals; last = i; } // the lines join
      required.push(r.error ? null : r.required);
      scheduled.push(r.error ? null : r.scheduled);
      staffed.push(r.forecast ? null : r.staffed);
      if (r.status === "under") under.push(r);
      if (r.status === "over") over++;
    });
    var end = rows.length ? Date.parse(rows[rows.length - 1].start) / 1000 + rows[rows.length - 1].length_seconds : 0;
    xs.push(end); [measured, forecast, required, scheduled, staffed].forEach(function (s) { s.push(s[s.length - 1]); });
    chart("arrivals-chart", [
      { label: "measured", stroke: "#3b82c4", fill: "rgba(59,130,196,0.2)" },
      { label: "forecast", stroke: "#e07b12", dash: [6, 3] }], [xs, measured, forecast], rep.timezone);
    chart("agents-chart", [
      { label: "staffed (measured)", stroke: "#1f9d55", width: 3 },
      { label: "to schedule", stroke: "#888", dash: [6, 3] },
      { label: "required on the queue", stroke: "#222" }], [xs, staffed, scheduled, required], rep.timezone);

    var inp = rep.inputs;
    text("arrivals", inp.arrivals + " arrivals");
    text("inputs", "AHT " + dur(inp.aht_seconds) + " · " + inp.concurrency + " at once" +
      (inp.patience_seconds !== undefined ? " · patience " + dur(inp.patience_seconds) + " (Erlang A)" : " · Erlang C"));
    text("under", under.length);
    $("under").className = "value " + (under.length ? "bad" : "good");
    text("over", over + " over-staffed of " + rows.filter(function (r) { return !r.forecast; }).length);
    if (rep.backtest) {
      text("wape", pct(rep.backtest.wape));
      text("bias", "bias " + (rep.backtest.bias >= 0 ? "+" : "") + pct(rep.backtest.bias) + " on the last 7 days");
    } else {
      text("wape", "–");
      text("bias", rep.forecast_note || "no forecast asked");
    }
    daysAhead(rows, rep.timezone);
    underList(under, rep.timezone);
    text("zone", rep.timezone);
    text("target-text", rep.target);
    text("through", rep.through.seq);
    document.body.dataset.rows = rows.length;
    document.body.dataset.under = under.length;
  }

  function dayOf(r, tz) { return new Date(r.start).toLocaleDateString("en-GB", { timeZone: tz, weekday: "short", day: "numeric", month: "short" }); }
  function timeOf(r, tz) { return new Date(r.start).toLocaleTimeString("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit" }); }

  function daysAhead(rows, tz) {
    var days = [], by = {}, peak = null;
    rows.forEach(function (r) {
      if (!r.forecast) return;
      var d = dayOf(r, tz);
      if (!by[d]) { by[d] = { day: d, arrivals: 0, required: 0, scheduled: 0, hours: 0 }; days.push(by[d]); }
      var x = by[d];
      x.arrivals += r.arrivals;
      x.required = Math.max(x.required, r.required);
      x.scheduled = Math.max(x.scheduled, r.scheduled);
      x.hours += r.scheduled * r.length_seconds / 3600;
      if (!peak || r.scheduled > peak.scheduled) peak = r;
    });
    $("days-ahead").tBodies[0].innerHTML = days.map(function (x) {
      return "<tr><td>" + x.day + '</td><td class="num">' + x.arrivals.toFixed(1) + '</td><td class="num">' + x.required +
        '</td><td class="num">' + x.scheduled + '</td><td class="num">' + x.hours.toFixed(1) + "</td></tr>";
    }).join("");
    text("peak", peak ? peak.scheduled + " agents" : "–");
    text("peak-at", peak ? dayOf(peak, tz) + " " + timeOf(peak, tz) + " · " + peak.required + " on the queue" : "no forecast");
  }

  function underList(under, tz) {
    $("under-list").tBodies[0].innerHTML = under.slice().reverse().slice(0, 20).map(function (r) {
      return "<tr><td>" + dayOf(r, tz) + " " + timeOf(r, tz) + '</td><td class="num">' + r.arrivals + '</td><td class="num">' + r.required +
        '</td><td class="num">' + r.staffed.toFixed(1) + '</td><td class="num">' + pct(r.achieved) + "</td></tr>";
    }).join("");
    $("no-under").hidden = under.length > 0;
  }

  function load() {
    var q = query();
    history.replaceState(null, "", location.pathname + "?" + q.toString());
    text("query-error", "");
    text("status", "reading the history…");
    SB.get("/v1/reports/staffing?" + q.toString()).then(function (rep) {
      if (!rep) return;
      render(rep);
      $("status").className = "status live";
      text("status", "as of " + new Date().toLocaleTimeString());
    }).catch(function (e) { text("query-error", e.message); text("status", "error"); });
  }

  function start() {
    SB.get("/v1/rules").then(function (rs) {
      if (!rs) return;
      $("login").hidden = true;
      $("main").hidden = false;
      setOptions(rs.queues || []);
      load();
    }).catch(function (e) { text("status", e instanceof TypeError ? "cannot reach the gateway: " + e.message : e.message); });
  }
  $("query").addEventListener("submit", function (e) { e.preventDefault(); params = query(); load(); });
  SB.onLogin(start);
  start();
})();
