// Switchboard's live dashboard: figures from GET /v1/dashboard, kept live by the
// /v1/dashboard/stream Server-Sent Events (docs/insight.md#dashboard).
(function () {
  "use strict";
  var $ = SB.$, dur = SB.dur, pct = SB.pct, text = SB.text;
  function grade(el, v, good, warn) {
    el.classList.remove("good", "warn", "bad");
    if (v === null || v === undefined) return;
    el.classList.add(v >= good ? "good" : v >= warn ? "warn" : "bad");
  }
  function metric(s, name) { var x = s.metrics[name]; return x && x.count > 0 ? x : null; }

  var chart = null;
  function frtChart(d) {
    var labels = ["≤1m", "1–5m", "5–15m", "15–60m", "1–4h", "4–24h", ">24h"];
    var xs = labels.map(function (_, i) { return i; });
    var data = [xs, d.first_response.counts];
    if (chart) { chart.setData(data); return; }
    chart = new uPlot({
      width: $("frt-chart").clientWidth || 480, height: 220,
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: function (u, min, max) { return [0, Math.max(1, max) * 1.15]; } } },
      axes: [{ values: function (u, vals) { return vals.map(function (v) { return labels[v] || ""; }); }, splits: function () { return xs; } },
             { label: "conversations" }],
      legend: { show: false },
      series: [{}, { label: "first responses", fill: "rgba(47,111,222,0.35)", stroke: "#2f6fde", paths: uPlot.paths.bars({ size: [0.7, 80] }), points: { show: false } }]
    }, data, $("frt-chart"));
  }

  function heatmap(d) {
    var days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    var max = 0;
    d.heatmap.forEach(function (row) { row.forEach(function (v) { max = Math.max(max, v); }); });
    var html = "<tr><th></th>";
    for (var h = 0; h < 24; h++) html += "<th>" + (h % 3 === 0 ? h : "") + "</th>";
    html += "</tr>";
    d.heatmap.forEach(function (row, i) {
      html += "<tr><th>" + days[i] + "</th>";
      row.forEach(function (v, h) {
        var a = max ? v / max : 0;
        html += '<td title="' + days[i] + " " + h + ":00 — " + v + ' opened" style="background: rgba(47,111,222,' + (v ? 0.12 + 0.88 * a : 0.04).toFixed(3) + ')" data-count="' + v + '"></td>';
      });
      html += "</tr>";
    });
    $("heatmap").innerHTML = html;
  }

  function render(d) {
    var waiting = 0, oldest = 0;
    (d.queues || []).forEach(function (q) { waiting += q.waiting; oldest = Math.max(oldest, q.oldest_wait_seconds); });
    text("waiting", waiting);
    text("oldest", waiting ? "oldest " + dur(oldest) : "nobody waiting");
    text("agents-available", d.agents.available || 0);
    text("agents-other", (d.agents.away || 0) + " away · " + (d.agents.offline || 0) + " offline");
    var t = d.today;
    text("opened", t.counts.opened);
    text("resolved", t.counts.resolved + " resolved · " + t.counts.replies + " replies");
    var frt = metric(t, "first_response");
    text("frt-p50", frt ? dur(frt.p50_seconds) : "–");
    text("frt-p90", frt ? "p90 " + dur(frt.p90_seconds) + " · avg " + dur(frt.avg_seconds) : "no responses yet");
    text("fcr", pct(t.rates.fcr_rate));
    grade($("fcr"), t.rates.fcr_rate, 0.7, 0.5);
    text("reopen", "reopened " + pct(t.rates.reopen_rate));
    text("csat", pct(t.rates.csat));
    grade($("csat"), t.rates.csat, 0.85, 0.7);
    var answers = (t.counts.csat_answers || 0) + (t.counts.nps_answers || 0);
    var nps = t.rates.nps === null || t.rates.nps === undefined ? "–" : (t.rates.nps >= 0 ? "+" : "") + Math.round(t.rates.nps);
    text("nps", "NPS " + nps + " · " + answers + " answer" + (answers === 1 ? "" : "s"));
    var sla = {};
    d.sla.forEach(function (s) { sla[s.metric] = s; });
    text("sla-frt", pct(sla.first_response.attainment));
    grade($("sla-frt"), sla.first_response.attainment, 0.9, 0.75);
    text("sla-other", "next " + pct(sla.next_response.attainment) + " · resolution " + pct(sla.resolution.attainment) +
      " · " + (sla.first_response.breached + sla.next_response.breached + sla.resolution.breached) + " breached");

    var byQueue = {};
    (d.by_queue || []).forEach(function (r) { byQueue[r.group.queue || ""] = r; });
    var rows = "";
    var names = (d.queues || []).map(function (q) { return q.queue; });
    Object.keys(byQueue).forEach(function (q) {
      // Figures of no queue (messages before routing, routing off) show only if conversations opened there.
      if (names.indexOf(q) < 0 && (q !== "" || byQueue[q].counts.opened > 0)) names.push(q);
    });
    names.forEach(function (q) {
      var live = (d.queues || []).filter(function (x) { return x.queue === q; })[0] || { waiting: 0, oldest_wait_seconds: 0 };
      var r = byQueue[q], f = r && metric(r, "first_response");
      rows += '<tr data-queue="' + q + '"><td>' + (q || "(none)") + '</td><td class="num">' + live.waiting + '</td><td class="num">' +
        (live.waiting ? dur(live.oldest_wait_seconds) : "–") + '</td><td class="num">' + (r ? r.counts.opened : 0) + '</td><td class="num">' +
        (f ? dur(f.p50_seconds) : "–") + '</td><td class="num">' + (f ? dur(f.p90_seconds) : "–") + '</td><td class="num">' +
        pct(r ? r.rates.sla_first_response_attainment : null) + "</td></tr>";
    });
    $("queues").tBodies[0].innerHTML = rows;

    var b = "";
    d.breaches.forEach(function (x) {
      b += "<tr><td>" + new Date(x.at).toLocaleTimeString() + "</td><td>" + x.conversation_id + "</td><td>" + x.metric.replace("_", " ") +
        "</td><td>" + x.policy + '</td><td class="num">' + dur((new Date(x.at) - new Date(x.due_at)) / 1000) + "</td></tr>";
    });
    $("breaches").tBodies[0].innerHTML = b;
    $("no-breaches").hidden = d.breaches.length > 0;
    frtChart(d);
    heatmap(d);
    text("through", d.through.seq);
    text("zone", d.timezone);
    text("updated", new Date(d.generated_at).toLocaleTimeString());
    document.body.dataset.through = d.through.seq;
  }

  var source = null;
  function start() {
    SB.get("/v1/dashboard").then(function (d) {
      if (!d) return;
      $("login").hidden = true;
      $("main").hidden = false;
      render(d);
      if (source) source.close();
      var token = SB.token();
      source = new EventSource("/v1/dashboard/stream" + (token ? "?access_token=" + encodeURIComponent(token) : ""));
      source.addEventListener("dashboard", function (e) { render(JSON.parse(e.data)); $("status").className = "status live"; text("status", "live"); });
      source.onerror = function () { $("status").className = "status"; text("status", "reconnecting…"); };
    }).catch(function (e) { text("status", e instanceof TypeError ? "cannot reach the gateway: " + e.message : e.message); });
  }
  SB.onLogin(start);
  start();
})();
