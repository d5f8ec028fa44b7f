// What the dashboard pages share: the REST token (from #token=… once, then the session),
// the sign-in form, and how durations and shares are written.
window.SB = (function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var token = sessionStorage.getItem("switchboard-token") || "";
  var m = /[#&]token=([^&]+)/.exec(location.hash);
  if (m) { token = decodeURIComponent(m[1]); sessionStorage.setItem("switchboard-token", token); history.replaceState(null, "", location.pathname + location.search); }

  function dur(s) {
    if (s === null || s === undefined) return "–";
    s = Math.round(s);
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + String(s % 60).padStart(2, "0") + "s";
    if (s < 172800) return Math.floor(s / 3600) + "h " + String(Math.floor(s / 60) % 60).padStart(2, "0") + "m";
    return Math.floor(s / 86400) + "d " + Math.floor(s / 3600) % 24 + "h";
  }
  function pct(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%"; }
  function text(id, v) { $(id).textContent = v; }

  function showLogin(msg) {
    $("main").hidden = true;
    $("login").hidden = false;
    text("login-error", msg || "");
    text("status", "sign in");
  }
  // get fetches a REST path with the token; 401 shows the sign-in form, other errors reject
  // with the gateway's message.
  function get(path) {
    return fetch(path, { headers: token ? { Authorization: "Bearer " + token } : {} }).then(function (r) {
      if (r.status === 401) { showLogin(token ? "That token was refused." : ""); return null; }
      if (!r.ok) {
        return r.json().catch(function () { return {}; }).then(function (b) {
          var e = (b && b.error) || {};
          throw new Error((e.message || ("error " + r.status)) + (e.field ? " (" + e.field + ")" : ""));
        });
      }
      return r.json();
    });
  }
  function onLogin(start) {
    $("login").addEventListener("submit", function (e) {
      e.preventDefault();
      token = $("token").value;
      sessionStorage.setItem("switchboard-token", token);
      start();
    });
  }
  return { $: $, dur: dur, pct: pct, text: text, get: get, onLogin: onLogin, showLogin: showLogin, token: function () { return token; } };
})();
