/* Switchboard live-chat widget. One tag opens an accessible chat bubble:
 *   <script src="https://chat.example.com/webchat/widget.js" data-site="shop" async></script>
 * Optional attributes: data-title, data-greeting (default: the site's configured title and
 * greeting, sent in the welcome frame), and for a signed-in user data-user-id,
 * data-user-hash (hex HMAC-SHA256 of the user id with the site's identity secret), data-name,
 * data-email, data-email-hash. API: window.SwitchboardChat.open(), .close(), .logout(),
 * .on(event, fn) with events "conversation", "message", "status".
 * Plain JavaScript, no dependencies. Protocol: docs/channels/webchat.md. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-site][src*='/webchat/widget.js']");
  if (!script || window.SwitchboardChat) { return; }
  var data = script.dataset;
  var site = data.site;
  var base = new URL(script.src, location.href).origin;
  var wsURL = base.replace(/^http/, "ws") + "/webchat/" + encodeURIComponent(site) + "/ws";
  var key = "switchboard-chat:" + site + ":";
  var store = {
    get: function (k, d) { try { var v = localStorage.getItem(key + k); return v === null ? d : JSON.parse(v); } catch (e) { return d; } },
    set: function (k, v) { try { localStorage.setItem(key + k, JSON.stringify(v)); } catch (e) { /* private mode */ } },
    del: function (k) { try { localStorage.removeItem(key + k); } catch (e) { /* ignore */ } }
  };
  var identity = data.userId ? { user_id: data.userId, user_hash: data.userHash || "", name: data.name || "",
    email: data.email || "", email_hash: data.emailHash || "" } : null;

  var state = { ws: null, ready: false, conv: null, lastSeq: 0, unread: 0, open: false, retry: 0,
    shown: {}, byClient: {}, limits: {}, lastAgent: null, typingTimer: null, sentTyping: 0, stopTyping: null };
  var listeners = {};
  function emit(name, value) {
    (listeners[name] || []).forEach(function (fn) { try { fn(value); } catch (e) { /* listener's problem */ } });
    try { window.dispatchEvent(new CustomEvent("switchboard:" + name, { detail: value })); } catch (e) { /* old browser */ }
  }

  // ---- UI (in a shadow root, so the site's CSS and ours never mix) ----
  var host = document.createElement("div");
  host.id = "switchboard-chat";
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" +
    ":host{all:initial;font:15px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1b1f24}" +
    ".bubble{display:flex;align-items:center;justify-content:center;position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:#2456d3;color:#fff;font-size:26px;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483646}" +
    ".bubble:focus-visible,button:focus-visible,textarea:focus-visible{outline:3px solid #f5b400;outline-offset:2px}" +
    ".badge{position:absolute;top:-4px;right:-4px;background:#d22;color:#fff;border-radius:10px;font-size:12px;padding:1px 6px}" +
    ".panel{position:fixed;right:20px;bottom:88px;width:340px;max-width:calc(100vw - 40px);height:460px;max-height:calc(100vh - 120px);display:flex;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);z-index:2147483647;overflow:hidden}" +
    ".panel[hidden]{display:none}" +
    "header{background:#2456d3;color:#fff;padding:10px 14px;display:flex;align-items:center;justify-content:space-between}" +
    "header h2{font-size:16px;margin:0}header button{background:none;border:0;color:#fff;font-size:20px;cursor:pointer}" +
    ".log{flex:1;overflow-y:auto;padding:12px;background:#f4f6fa}" +
    ".msg{max-width:80%;margin:6px 0;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}" +
    ".visitor{margin-left:auto;background:#2456d3;color:#fff}.agent{background:#fff;border:1px solid #d8dde6}" +
    ".system{text-align:center;color:#555;font-size:13px;margin:8px 0}" +
    ".meta{display:block;font-size:11px;opacity:.8;margin-top:2px}.failed{background:#a32}" +
    ".msg a{color:inherit}.status{min-height:18px;font-size:12px;color:#555;padding:0 12px}" +
    "form{display:flex;gap:6px;padding:8px;border-top:1px solid #e3e6ec;align-items:flex-end}" +
    "textarea{flex:1;resize:none;border:1px solid #c5cbd6;border-radius:8px;padding:7px;font:inherit;max-height:100px}" +
    "form button{border:0;border-radius:8px;background:#2456d3;color:#fff;padding:8px 12px;cursor:pointer;font:inherit}" +
    ".attach{background:#e8ecf4 !important;color:#1b1f24 !important}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}" +
    ".choices{display:flex;flex-wrap:wrap;gap:4px;margin:6px 0 2px}" +
    ".choices button{border:1px solid #c5cbd6;background:#fff;border-radius:8px;min-width:30px;padding:5px 7px;cursor:pointer;font:inherit;color:#1b1f24}" +
    ".choices.stars button{border:0;background:none;font-size:26px;line-height:1;padding:0 2px;color:#c5cbd6;min-width:0}" +
    ".choices.stars button.lit,.choices.stars button.chosen{color:#f5a400}" +
    ".choices button.chosen{background:#2456d3;color:#fff;border-color:#2456d3}.choices.stars button.chosen{background:none}" +
    ".choices button:disabled{cursor:default}.choices .hint{width:100%;font-size:11px;color:#555}" +
    "</style>" +
    "<button class='bubble' type='button' aria-expanded='false' aria-controls='sb-panel' aria-label='Open chat'><svg width='26' height='26' viewBox='0 0 24 24' aria-hidden='true'><path fill='currentColor' d='M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z'/></svg><span class='badge' hidden></span></button>" +
    "<section class='panel' id='sb-panel' role='dialog' aria-labelledby='sb-title' hidden>" +
    "<header><h2 id='sb-title'></h2><button type='button' class='close' aria-label='Close chat'>&times;</button></header>" +
    "<div class='log' role='log' aria-live='polite' aria-relevant='additions'></div>" +
    "<div class='status' aria-live='polite'></div>" +
    "<form><label class='sr' for='sb-input'>Your message</label>" +
    "<textarea id='sb-input' rows='1' placeholder='Write a message…'></textarea>" +
    "<input type='file' class='file' hidden>" +
    "<button type='button' class='attach' aria-label='Attach a file'><svg width='18' height='18' viewBox='0 0 24 24' aria-hidden='true'><path fill='none' stroke='currentColor' stroke-width='2' d='M21 11l-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7'/></svg></button>" +
    "<button type='submit' class='send'>Send</button></form></section>";
  var $ = function (sel) { return root.querySelector(sel); };
  var bubble = $(".bubble"), badge = $(".badge"), panel = $(".panel"), log = $(".log"), statusLine = $(".status");
  var input = $("textarea"), form = $("form"), fileInput = $(".file");
  $("#sb-title").textContent = data.title || "Chat with us";

  function setStatus(text) { statusLine.textContent = text || ""; }
  function system(text) {
    var p = document.createElement("p");
    p.className = "system";
    p.textContent = text;
    log.appendChild(p);
    log.scrollTop = log.scrollHeight;
  }
  function render(m) {
    var el = m.el;
    if (!el) {
      el = document.createElement("div");
      el.className = "msg " + m.author;
      el.appendChild(document.createElement("span")).className = "text";
      el.appendChild(document.createElement("span")).className = "meta";
      log.appendChild(el);
      m.el = el;
    }
    el.querySelector(".text").textContent = m.text || "";
    if (m.choices && !el.querySelector(".choices")) { renderChoices(el, m); }
    (m.attachments || []).forEach(function (a) {
      if (el.querySelector("a[data-name='" + CSS.escape(a.name || "") + "']")) { return; }
      var link = document.createElement("a");
      link.href = a.url && a.url.charAt(0) === "/" ? base + a.url : (a.url || "#");
      link.target = "_blank";
      link.rel = "noopener";
      link.dataset.name = a.name || "";
      link.textContent = "\nAttachment: " + (a.name || "file");
      el.querySelector(".text").appendChild(link);
    });
    var meta = m.author === "agent" ? (m.automated ? "Assistant" : "Agent") : (m.failed ? "Not sent: " + m.failed : (m.pending ? "Sending…" : "Sent"));
    el.querySelector(".meta").textContent = meta;
    el.classList.toggle("failed", !!m.failed);
    log.scrollTop = log.scrollHeight;
  }

  // Choices (a survey's stars or 0-10 scale): a click sends the choice as a message whose
  // payload says which one; the buttons then show the answer.
  function renderChoices(el, m) {
    var box = document.createElement("div"), stars = m.choices.style === "stars";
    box.className = "choices" + (stars ? " stars" : "");
    box.setAttribute("role", "group");
    var buttons = m.choices.options.map(function (o, i) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = stars ? "\u2605" : o.title;
      b.title = o.label || o.title;
      b.setAttribute("aria-label", (stars ? (i + 1) + " of " + m.choices.options.length : o.title) + (o.label ? " \u2013 " + o.label : ""));
      b.dataset.payload = o.payload;
      if (stars) {
        b.addEventListener("mouseenter", function () { light(i); });
        b.addEventListener("mouseleave", function () { light(-1); });
      }
      b.addEventListener("click", function () {
        buttons.forEach(function (x, j) { x.disabled = true; x.classList.toggle("chosen", stars ? j <= i : j === i); });
        queue(stars ? (i + 1) + " \u2605" : o.title, [], "", o.payload);
      });
      box.appendChild(b);
      return b;
    });
    function light(n) { buttons.forEach(function (x, j) { x.classList.toggle("lit", j <= n); }); }
    var labels = m.choices.options.filter(function (o) { return o.label; });
    if (labels.length) {
      var hint = document.createElement("span");
      hint.className = "hint";
      hint.textContent = labels[0].label + " \u2026 " + labels[labels.length - 1].label;
      box.appendChild(hint);
    }
    el.appendChild(box);
  }

  // ---- outbox: messages not yet acknowledged survive reloads and are resent ----
  function outbox() { return store.get("outbox", []); }
  function saveOutbox(list) { store.set("outbox", list); }
  function newID() {
    var b = new Uint8Array(12);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }
  function queue(text, attachments, label, payload) {
    var m = { id: newID(), text: text, attachments: attachments || [], payload: payload || undefined };
    saveOutbox(outbox().concat([m]));
    var shown = { author: "visitor", text: text || label || "", pending: true, clientID: m.id };
    state.byClient[m.id] = shown;
    render(shown);
    transmit(m);
  }
  function transmit(m) {
    if (!state.ready) { return; }
    send({ type: "message", id: m.id, text: m.text, attachments: m.attachments.length ? m.attachments : undefined, payload: m.payload });
  }
  function settle(clientID, messageID, failure) {
    var shown = state.byClient[clientID];
    if (!failure) { saveOutbox(outbox().filter(function (m) { return m.id !== clientID; })); }
    if (shown) {
      shown.pending = false;
      shown.failed = failure || "";
      if (messageID) { shown.id = messageID; state.shown[messageID] = shown; }
      render(shown);
    }
  }

  // ---- socket ----
  function send(frame) {
    if (state.ws && state.ws.readyState === 1) { state.ws.send(JSON.stringify(frame)); }
  }
  function connect() {
    var ws = new WebSocket(wsURL);
    state.ws = ws;
    ws.onopen = function () {
      send({ type: "hello", token: store.get("token", ""), identity: identity || undefined,
        conversation_id: state.conv || undefined, after: state.lastSeq || undefined,
        seen: state.conv ? store.get("seen:" + state.conv, 0) || undefined : undefined,
        page: location.href.slice(0, 2000) });
    };
    ws.onmessage = function (e) {
      var f;
      try { f = JSON.parse(e.data); } catch (err) { return; }
      (handlers[f.type] || function () {})(f);
    };
    ws.onclose = function (e) {
      state.ready = false;
      if (state.ws !== ws) { return; }
      var policy = e.code === 1008;
      var wait = Math.min(15000, 500 * Math.pow(2, state.retry++)) * (policy ? 4 : 1) * (0.5 + Math.random() / 2);
      setStatus(policy ? "Chat unavailable: " + (e.reason || "refused") : "Reconnecting…");
      emit("status", "disconnected");
      setTimeout(connect, wait);
    };
  }
  var handlers = {
    welcome: function (f) {
      state.ready = true;
      state.retry = 0;
      state.limits = f.limits || {};
      store.set("token", f.token);
      setStatus("");
      emit("status", "connected");
      if (f.conversation_id && f.conversation_id !== state.conv) { adopt(f.conversation_id); }
      if (!data.title && f.title) { $("#sb-title").textContent = f.title; }
      var greeting = data.greeting || f.greeting;
      if (!f.conversation_id && !log.querySelector(".msg") && !state.greeted && greeting) { state.greeted = true; system(greeting); }
      outbox().forEach(function (m) {
        if (!state.byClient[m.id]) {
          state.byClient[m.id] = { author: "visitor", text: m.text, pending: true, clientID: m.id };
          render(state.byClient[m.id]);
        }
        transmit(m);
      });
    },
    ack: function (f) { settle(f.id, f.message_id, ""); },
    error: function (f) {
      if (!f.id) { if (f.code !== "rate_limited") { setStatus(f.message); } return; }
      if (f.code === "rate_limited" || f.code === "unavailable") {
        var m = outbox().filter(function (x) { return x.id === f.id; })[0];
        if (m) { setTimeout(function () { transmit(m); }, f.retry_after_ms || 1000); }
        return;
      }
      saveOutbox(outbox().filter(function (m) { return m.id !== f.id; }));
      settle(f.id, "", f.message || f.code);
    },
    conversation: function (f) { adopt(f.conversation_id); },
    event: function (f) {
      if (f.conversation_id !== state.conv || f.seq <= state.lastSeq) { return; }
      state.lastSeq = f.seq;
      store.set("seen:" + state.conv, Math.max(f.seq, store.get("seen:" + state.conv, 0)));
      if (f.event === "message" && f.message) { onMessage(f.message); }
      if (f.event === "resolved") { system("This conversation was closed. Write again any time."); }
      if (f.event === "assigned") { system("An agent joined the conversation."); }
    },
    typing: function (f) {
      clearTimeout(state.typingTimer);
      setStatus(f.state === "start" ? "Agent is typing…" : "");
      if (f.state === "start") { state.typingTimer = setTimeout(function () { setStatus(""); }, 8000); }
    },
    read: function () { state.unread = 0; showBadge(); }
  };
  function adopt(conv) {
    state.conv = conv;
    state.lastSeq = 0;
    emit("conversation", conv);
  }
  function onMessage(m) {
    var known = state.shown[m.id] || (m.client_id && state.byClient[m.client_id]);
    if (known) {
      known.id = m.id;
      state.shown[m.id] = known;
      known.pending = false;
      known.attachments = m.attachments;
      render(known);
      return;
    }
    var shown = { id: m.id, author: m.author, automated: m.automated, text: m.text, attachments: m.attachments, choices: m.choices };
    state.shown[m.id] = shown;
    render(shown);
    emit("message", m);
    if (m.author === "agent") {
      clearTimeout(state.typingTimer);
      setStatus("");
      state.lastAgent = m.id;
      if (state.open && document.visibilityState === "visible") { markRead(); } else { state.unread++; showBadge(); }
    }
  }
  function markRead() {
    if (state.lastAgent) { send({ type: "read", message_id: state.lastAgent }); }
    state.unread = 0;
    showBadge();
  }
  function showBadge() {
    badge.hidden = state.unread === 0;
    badge.textContent = String(state.unread);
    bubble.setAttribute("aria-label", state.unread ? "Open chat, " + state.unread + " unread" : "Open chat");
  }

  // ---- interaction ----
  function openPanel() {
    state.open = true;
    panel.hidden = false;
    bubble.setAttribute("aria-expanded", "true");
    input.focus();
    if (state.unread) { markRead(); }
  }
  function closePanel() {
    state.open = false;
    panel.hidden = true;
    bubble.setAttribute("aria-expanded", "false");
    bubble.focus();
  }
  bubble.addEventListener("click", function () { if (state.open) { closePanel(); } else { openPanel(); } });
  $(".close").addEventListener("click", closePanel);
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { closePanel(); } });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    if (state.limits.max_text && text.length > state.limits.max_text) { setStatus("That message is too long."); return; }
    input.value = "";
    stopTyping();
    queue(text);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  input.addEventListener("input", function () {
    var now = Date.now();
    if (now - state.sentTyping > 3000) { state.sentTyping = now; send({ type: "typing", state: "start" }); }
    clearTimeout(state.stopTyping);
    state.stopTyping = setTimeout(stopTyping, 4000);
  });
  function stopTyping() {
    clearTimeout(state.stopTyping);
    if (state.sentTyping) { state.sentTyping = 0; send({ type: "typing", state: "stop" }); }
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && state.open && state.unread) { markRead(); }
  });
  $(".attach").addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files[0];
    fileInput.value = "";
    if (!file) { return; }
    if (state.limits.upload_max_bytes && file.size > state.limits.upload_max_bytes) { setStatus("That file is too large."); return; }
    setStatus("Uploading " + file.name + "…");
    fetch(base + "/webchat/" + encodeURIComponent(site) + "/uploads?name=" + encodeURIComponent(file.name), {
      method: "POST", body: file,
      headers: { "Authorization": "Bearer " + store.get("token", ""), "Content-Type": file.type || "application/octet-stream" }
    }).then(function (r) {
      return r.json().then(function (b) { if (!r.ok) { throw new Error((b.error && b.error.message) || r.status); } return b; });
    }).then(function (b) {
      setStatus("");
      queue("", [b.attachment], "Attachment: " + b.name);
    }).catch(function (err) { setStatus("Upload failed: " + err.message); });
  });

  window.SwitchboardChat = {
    open: openPanel,
    close: closePanel,
    on: function (name, fn) { (listeners[name] = listeners[name] || []).push(fn); },
    conversation: function () { return state.conv; },
    logout: function () {
      ["token", "outbox"].forEach(store.del);
      identity = null;
      state.conv = null;
      state.lastSeq = 0;
      state.shown = {};
      state.byClient = {};
      state.unread = 0;
      showBadge();
      log.textContent = "";
      if (state.ws) { state.ws.close(); }
    }
  };
  function start() { document.body.appendChild(host); connect(); }
  if (document.body) { start(); } else { document.addEventListener("DOMContentLoaded", start); }
})();
