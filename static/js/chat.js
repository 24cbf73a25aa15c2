/* Live chat in the browser, for the agent console and the visitor widget.
 *
 * Each chat pane ([data-chat]) keeps one EventSource that resumes after the last message
 * number it has shown: the browser's own reconnect sends it as Last-Event-ID, and a fresh
 * connection (after going offline, or a closed stream) asks with ?after=. A number already
 * shown is never shown again. Sending posts the form with fetch; the message then arrives
 * through the stream like everyone else's, so both sides see the same order.
 */
(function () {
  "use strict";

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function timeOf(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  }

  function bubble(msg, fileBase, viewer) {
    var mine = (viewer === "agent" && msg.kind === "agent") || (viewer === "visitor" && msg.kind === "visitor");
    var item = el("li", "chat-msg chat-msg-" + msg.kind + (mine ? " chat-msg-mine" : ""));
    item.dataset.seq = msg.seq;
    if (msg.kind === "system") {
      item.appendChild(el("span", "chat-msg-body", msg.body));
      return item;
    }
    var meta = el("div", "chat-msg-meta");
    meta.appendChild(el("span", "chat-msg-author", msg.author || msg.kind));
    var t = el("time", "chat-msg-time", timeOf(msg.at));
    t.dateTime = msg.at;
    meta.appendChild(t);
    item.appendChild(meta);
    if (msg.body) item.appendChild(el("div", "chat-msg-body", msg.body));
    (msg.links || []).forEach(function (link) {
      var a = el("a", "chat-msg-link d-block", link.title);
      a.href = link.url;
      a.target = "_blank";
      a.rel = "noopener";
      item.appendChild(a);
    });
    if (msg.file) {
      var f = el("a", "chat-msg-file d-block", "📎 " + msg.file);
      f.href = fileBase + msg.seq;
      item.appendChild(f);
    }
    return item;
  }

  function Pane(root) {
    this.root = root;
    this.url = root.dataset.streamUrl;
    this.viewer = root.dataset.viewer;
    this.fileBase = root.dataset.fileBase;
    this.log = root.querySelector("[data-chat-log]");
    this.typing = root.querySelector("[data-chat-typing]");
    this.last = parseInt(root.dataset.lastSeq || "0", 10);
    this.source = null;
    this.retry = null;
    this.typingTimer = null;
    // The server wrote times in UTC; show every time in the reader's own zone.
    this.log.querySelectorAll("time.chat-msg-time").forEach(function (t) { t.textContent = timeOf(t.dateTime); });
    this.connect();
    this.wireForm();
    var self = this;
    this.onOffline = function () { self.disconnect(); };
    this.onOnline = function () { self.connect(); };
    window.addEventListener("offline", this.onOffline);
    window.addEventListener("online", this.onOnline);
  }

  Pane.prototype.connect = function () {
    var self = this;
    this.disconnect();
    var source = new EventSource(this.url + (this.url.indexOf("?") < 0 ? "?" : "&") + "after=" + this.last);
    this.source = source;
    this.root.dataset.connected = "connecting";
    source.onopen = function () { self.root.dataset.connected = "yes"; };
    source.addEventListener("message", function (e) { self.add(JSON.parse(e.data)); });
    source.addEventListener("status", function (e) { self.status(JSON.parse(e.data)); });
    source.addEventListener("typing", function (e) { self.showTyping(JSON.parse(e.data)); });
    source.onerror = function () {
      self.root.dataset.connected = "no";
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an error status): start again after the last number shown.
        clearTimeout(self.retry);
        self.retry = setTimeout(function () { if (self.source === source) self.connect(); }, 2000);
      }
    };
  };

  Pane.prototype.disconnect = function () {
    clearTimeout(this.retry);
    if (this.source) this.source.close();
    this.source = null;
    this.root.dataset.connected = "no";
  };

  Pane.prototype.destroy = function () {
    this.disconnect();
    window.removeEventListener("offline", this.onOffline);
    window.removeEventListener("online", this.onOnline);
  };

  Pane.prototype.add = function (msg) {
    if (msg.seq <= this.last) return; // shown already
    this.last = msg.seq;
    this.root.dataset.lastSeq = msg.seq;
    if (this.typing && msg.kind !== "system") this.typing.hidden = true;
    var empty = this.log.querySelector("[data-chat-empty]");
    if (empty) empty.remove();
    var near = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
    this.log.appendChild(bubble(msg, this.fileBase, this.viewer));
    if (near || msg.kind === this.viewer) this.log.scrollTop = this.log.scrollHeight;
    if (document.hidden && msg.kind !== this.viewer) notify(msg.author + ": " + (msg.body || msg.file || ""));
  };

  Pane.prototype.status = function (data) {
    if (data.status === "ended") {
      var form = this.root.querySelector("form[data-chat-send]");
      if (form) form.hidden = true; // nobody can write to an ended chat
    }
    this.root.dispatchEvent(new CustomEvent("chat:status", { detail: data, bubbles: true }));
    if (window.htmx) {
      var panel = this.root.querySelector("[data-chat-status]");
      if (panel) window.htmx.trigger(panel, "refresh");
    }
  };

  Pane.prototype.showTyping = function (data) {
    if (!this.typing || data.who === this.viewer) return;
    var self = this;
    this.typing.textContent = (data.name || "Someone") + " is typing…";
    this.typing.hidden = false;
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(function () { self.typing.hidden = true; }, 4000);
  };

  Pane.prototype.wireForm = function () {
    var form = this.root.querySelector("form[data-chat-send]");
    if (!form) return;
    var box = form.querySelector("textarea");
    var typingUrl = form.dataset.typingUrl;
    var lastTyping = 0;
    var error = form.querySelector("[data-chat-error]");
    if (box) {
      box.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && !e.shiftKey) {
          e.preventDefault();
          form.requestSubmit();
        }
      });
      box.addEventListener("input", function () {
        var now = Date.now();
        if (typingUrl && now - lastTyping > 3000 && box.value) {
          lastTyping = now;
          fetch(typingUrl, { method: "POST", headers: { "X-CSRFToken": csrf }, credentials: "same-origin" });
        }
      });
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var data = new FormData(form);
      var file = form.querySelector('input[type="file"]');
      if (!(data.get("body") || "").trim() && !(file && file.files.length)) return;
      var button = form.querySelector('button[type="submit"]');
      if (button) button.disabled = true;
      fetch(form.action, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, "HX-Request": "true" }
      }).then(function (r) {
        if (!r.ok) return r.text().then(function (t) { throw new Error(t || r.statusText); });
        form.reset();
        if (error) error.hidden = true;
      }).catch(function (err) {
        if (error) { error.textContent = err.message; error.hidden = false; }
      }).finally(function () {
        if (button) button.disabled = false;
        if (box) box.focus();
      });
    });
  };

  // --- a small chime and a title badge for the console --------------------------------------

  var baseTitle = document.title;
  function notify(text) {
    document.title = "• " + baseTitle;
    chime();
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) document.title = baseTitle; });

  function chime() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      var ctx = chime.ctx || (chime.ctx = new Ctx());
      var osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.4);
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.4);
    } catch (e) { /* sound is a nicety */ }
  }

  // --- wiring --------------------------------------------------------------------------------

  var panes = new Map();
  function scan(root) {
    (root || document).querySelectorAll("[data-chat]").forEach(function (node) {
      if (!panes.has(node)) panes.set(node, new Pane(node));
    });
    panes.forEach(function (pane, node) {
      if (!document.body.contains(node)) { pane.destroy(); panes.delete(node); }
    });
  }

  function consoleEvents() {
    var lists = document.getElementById("chat-lists");
    if (!lists || !lists.dataset.eventsUrl) return;
    var me = lists.dataset.me;
    var source = new EventSource(lists.dataset.eventsUrl);
    source.onmessage = null;
    ["started", "assigned", "accepted", "transferred", "ended", "queued", "agents", "rated"].forEach(function (type) {
      source.addEventListener(type, function (e) {
        var data = JSON.parse(e.data);
        var current = document.getElementById("chat-lists");
        if (window.htmx && current) window.htmx.trigger(current, "refresh");
        if ((type === "assigned" && String(data.agent) === me) || type === "started" || type === "queued") {
          notify("New chat");
          var badge = document.getElementById("chat-new-badge");
          if (badge) badge.hidden = false;
        }
      });
    });
  }

  // Canned replies: choosing one drops its text into the message box.
  document.addEventListener("change", function (e) {
    var select = e.target.closest("select[data-canned]");
    if (!select || !select.value) return;
    var box = document.getElementById(select.dataset.canned);
    if (box) {
      box.value = (box.value ? box.value + "\n" : "") + select.value;
      box.focus();
    }
    select.selectedIndex = 0;
  });

  document.addEventListener("DOMContentLoaded", function () { scan(); consoleEvents(); });
  document.addEventListener("htmx:afterSettle", function () { scan(); });
  window.helpdeskChat = { panes: panes, scan: scan };
})();
