// The workspace's small bit of glue: htmx error handling, toasts, keyboard shortcuts, kanban, pickers.
(function () {
  "use strict";

  // htmx 2 leaves 4xx responses unswapped. A 422 (field errors) or 409 (changed by someone
  // else) comes back as the re-rendered form, so swap those into their target; every
  // other error is toasted. A 409/422 sent as text/plain is a short message: toasted too.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "409", swap: true, error: false },
    { code: "422", swap: true, error: false },
    { code: "[45]..", swap: false, error: true },
    { code: "...", swap: false },
  ];

  // Kanban cards on their way to another column, and where they came from, so a card
  // goes back if the server refuses the move.
  const moving = new Map();

  // Elements matching `selector` in `root`, root included (htmx:load gives the new element).
  function within(root, selector) {
    const found = Array.from(root.querySelectorAll(selector));
    if (root.matches && root.matches(selector)) found.unshift(root);
    return found;
  }

  // ---------------------------------------------------------------- toasts

  const LEVELS = { success: "success", info: "info", warning: "warning", danger: "danger", error: "danger" };

  function toast(message, level) {
    const box = document.getElementById("toasts");
    if (!box || !message) return;
    const kind = LEVELS[level] || "danger";
    const dark = kind === "warning" || kind === "info";
    const el = document.createElement("div");
    el.className = "toast align-items-center border-0 text-bg-" + kind;
    el.setAttribute("role", kind === "danger" ? "alert" : "status");
    el.setAttribute("aria-atomic", "true");
    const row = document.createElement("div");
    row.className = "d-flex";
    const body = document.createElement("div");
    body.className = "toast-body";
    body.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close me-2 m-auto" + (dark ? "" : " btn-close-white");
    close.setAttribute("data-bs-dismiss", "toast");
    close.setAttribute("aria-label", say("sayClose", "Close"));
    row.append(body, close);
    el.append(row);
    box.append(el);
    el.addEventListener("hidden.bs.toast", () => el.remove());
    // Errors stay until dismissed; good news goes away by itself.
    bootstrap.Toast.getOrCreateInstance(el, { autohide: kind !== "danger", delay: 5000 }).show();
  }

  // Words in the page's language: base.html puts them on <body data-say-…>; English otherwise.
  function say(key, english) {
    return (document.body && document.body.dataset[key]) || english;
  }

  function isHtml(xhr) {
    return /html/i.test(xhr.getResponseHeader("Content-Type") || "");
  }

  // The words to show for an error response: the text itself, or the gist of an HTML page.
  function messageFrom(xhr) {
    let text = xhr.responseText || "";
    if (isHtml(xhr)) {
      const doc = new DOMParser().parseFromString(text, "text/html");
      const picked = doc.querySelector("[data-error-message]") || doc.querySelector("h1") || doc.body;
      text = picked ? picked.textContent : "";
    }
    text = text.replace(/\s+/g, " ").trim();
    if (text.length > 300) text = text.slice(0, 297) + "…";
    return text || say("sayFailed", "Something went wrong ({status}). Please try again.").replace("{status}", xhr.status);
  }

  document.addEventListener("htmx:beforeSwap", (evt) => {
    const d = evt.detail;
    const status = d.xhr.status;
    const movingCard = moving.has(d.elt);
    if ((status === 409 || status === 422) && (!isHtml(d.xhr) || movingCard)) {
      d.shouldSwap = false;
      d.isError = true; // so htmx:responseError below toasts it
    }
    if (movingCard && status >= 400) {
      d.shouldSwap = false;
      moving.get(d.elt).refused = true;
    }
  });

  document.addEventListener("htmx:responseError", (evt) => toast(messageFrom(evt.detail.xhr), "danger"));
  document.addEventListener("htmx:sendError", () =>
    toast(say("sayOffline", "Could not reach the server. Check your connection and try again."), "danger"));
  document.addEventListener("htmx:timeout", () =>
    toast(say("sayTimeout", "The server took too long to answer. Please try again."), "danger"));

  // A view may send `HX-Trigger: {"toast": {"message": "Saved", "level": "success"}}`
  // or simply `HX-Trigger: {"toast": "Saved"}`.
  document.addEventListener("toast", (evt) => {
    const d = evt.detail || {};
    toast(d.message || d.value, d.level || "success");
  });

  // ------------------------------------------------------ keyboard shortcuts

  const NOT_TYPED = /^(checkbox|radio|button|submit|reset|image|file|range|color)$/;

  function isTyping(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable) return true;
    if (el.tagName === "INPUT") return !NOT_TYPED.test(el.type);
    return el.tagName === "TEXTAREA" || el.tagName === "SELECT";
  }

  function visible(el) {
    return el && el.getClientRects().length > 0;
  }

  function rows() {
    return Array.from(document.querySelectorAll("[data-case-row]")).filter(visible);
  }

  function rowLink(row) {
    return row.querySelector("a[data-case-link]") || row.querySelector("a[href]");
  }

  function currentRow(list) {
    const focused = document.activeElement && document.activeElement.closest("[data-case-row]");
    return focused || list.find((r) => r.classList.contains("is-current")) || null;
  }

  function selectRow(row) {
    document.querySelectorAll("[data-case-row].is-current").forEach((r) => r.classList.remove("is-current"));
    row.classList.add("is-current");
    const link = rowLink(row);
    (link || row).focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function moveRow(step) {
    const list = rows();
    if (!list.length) return false;
    const at = list.indexOf(currentRow(list));
    const next = at < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, at + step));
    selectRow(list[next]);
    return true;
  }

  function openRow() {
    const row = currentRow(rows());
    const link = row && rowLink(row);
    if (!link) return false;
    link.click();
    return true;
  }

  function toggleRow() {
    const row = currentRow(rows());
    const box = row && row.querySelector("input[type=checkbox]");
    if (!box) return false;
    box.click(); // a click, not .checked, so change listeners run
    return true;
  }

  function focusEditor(id) {
    const el = document.getElementById(id);
    if (!visible(el)) return false;
    el.scrollIntoView({ block: "center" });
    el.focus();
    return true;
  }

  function follow(which) {
    const link = document.querySelector('a[data-shortcut="' + which + '"]');
    if (!link) return false;
    link.click();
    return true;
  }

  function showHelp() {
    const modal = document.getElementById("shortcuts-help");
    if (!modal) return false;
    bootstrap.Modal.getOrCreateInstance(modal).show();
    return true;
  }

  const SHORTCUTS = {
    j: () => moveRow(1),
    k: () => moveRow(-1),
    o: openRow,
    Enter: openRow,
    x: toggleRow,
    r: () => focusEditor("reply-body"),
    n: () => focusEditor("note-body"),
    "[": () => follow("prev"),
    "]": () => follow("next"),
    "?": showHelp,
    "/": () => focusEditor("global-search"),
  };

  document.addEventListener("keydown", (evt) => {
    if (evt.defaultPrevented || evt.ctrlKey || evt.metaKey || evt.altKey || evt.isComposing) return;
    if (isTyping(evt.target) || document.querySelector(".modal.show")) return;
    // Enter on a link or button already does the right thing.
    if (evt.key === "Enter" && evt.target.closest && evt.target.closest("a, button, summary")) return;
    const action = SHORTCUTS[evt.key];
    // preventDefault so the key that focused an editor is not typed into it.
    if (action && action()) evt.preventDefault();
  });

  // -------------------------------------------------------------- kanban

  function moveCard(card, column, from, before) {
    const url = card.dataset.moveUrl;
    if (!url) return;
    const origin = { from, before, refused: false };
    moving.set(card, origin);
    card.classList.add("kanban-pending");
    const putBack = () => from.insertBefore(card, before && before.parentNode === from ? before : null);
    htmx
      .ajax("POST", url, {
        source: card,
        target: card,
        swap: "outerHTML",
        values: { status: column.dataset.status, version: card.dataset.version || "" },
      })
      .then(() => { if (origin.refused) putBack(); }, putBack)
      .finally(() => {
        moving.delete(card);
        card.classList.remove("kanban-pending");
      });
  }

  function initKanban(root) {
    if (typeof Sortable === "undefined") return;
    within(root, "[data-kanban-column]").forEach((column) => {
      if (Sortable.get(column)) return;
      Sortable.create(column, {
        group: "kanban",
        draggable: "[data-move-url]",
        filter: ".kanban-pending",
        animation: 120,
        onStart: (evt) => { evt.item._kanbanBefore = evt.item.nextElementSibling; },
        onEnd: (evt) => {
          if (evt.from === evt.to) return; // order inside a column is not stored
          moveCard(evt.item, evt.to, evt.from, evt.item._kanbanBefore);
        },
      });
    });
  }

  // -------------------------------------------------------------- pickers

  // <select data-picker> becomes a Tom Select. data-picker-create lets people add new
  // options (tags); data-picker-url="/x/options" loads options as the user types, from
  // JSON [{"value": "...", "text": "..."}] answered to GET ?q=...
  function initPickers(root) {
    if (typeof TomSelect === "undefined") return;
    within(root, "select[data-picker]").forEach((el) => {
      if (el.tomselect) return;
      const url = el.dataset.pickerUrl;
      const settings = {
        create: el.hasAttribute("data-picker-create"),
        maxOptions: 100,
        plugins: el.multiple ? ["remove_button"] : [],
      };
      if (url) {
        settings.valueField = "value";
        settings.labelField = "text";
        settings.searchField = ["text"];
        settings.load = (query, callback) => {
          const sep = url.includes("?") ? "&" : "?";
          fetch(url + sep + "q=" + encodeURIComponent(query), { headers: { Accept: "application/json" } })
            .then((r) => (r.ok ? r.json() : []))
            .then(callback, () => callback());
        };
      }
      new TomSelect(el, settings);
    });
  }

  // htmx keeps a copy of the page for the back button; store it without the pickers'
  // generated markup, or they would be built twice on restore.
  document.addEventListener("htmx:beforeHistorySave", () => {
    document.querySelectorAll("select.tomselected").forEach((el) => el.tomselect && el.tomselect.destroy());
  });

  // Side panels that fold away on a phone start open on a wide screen.
  function openWide(root) {
    if (!window.matchMedia("(min-width: 992px)").matches) return;
    root.querySelectorAll("details[data-open-wide]").forEach((d) => { d.open = true; });
  }

  // The presence poll tells other agents when this one is writing a reply.
  document.addEventListener("input", (evt) => {
    if (evt.target.closest && evt.target.closest("form[data-track-replying]")) window.helpdeskReplying = true;
  });
  document.addEventListener("htmx:afterSwap", (evt) => {
    if (evt.detail.target && evt.detail.target.id === "case-workspace") window.helpdeskReplying = false;
  });

  // ---------------------------------------------------------------- start

  function init(root) {
    if (!root || !root.querySelectorAll) return;
    initKanban(root);
    initPickers(root);
    openWide(root);
  }

  document.addEventListener("DOMContentLoaded", () => init(document.body));
  document.addEventListener("htmx:load", (evt) => init(evt.detail.elt));

  window.helpdesk = { toast };
})();
