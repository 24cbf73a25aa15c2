/* The help desk chat: add <script src="{{ widget_url }}/embed.js" async></script> to a page. */
(function () {
  "use strict";
  if (window.__helpdeskChat) return;
  window.__helpdeskChat = true;
  var widgetUrl = {{ widget_url|tojson }};
  var availabilityUrl = {{ availability_url|tojson }};
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = "Chat with us";
  button.setAttribute("aria-expanded", "false");
  button.style.cssText = "position:fixed;bottom:16px;right:16px;z-index:2147483000;padding:10px 16px;border:0;" +
    "border-radius:24px;background:#0d6efd;color:#fff;font:600 15px system-ui,sans-serif;box-shadow:0 2px 8px rgba(0,0,0,.25);cursor:pointer";
  var frame = null;
  button.addEventListener("click", function () {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.title = "Chat with us";
      frame.src = widgetUrl + "?page=" + encodeURIComponent(location.href);
      frame.style.cssText = "position:fixed;bottom:72px;right:16px;z-index:2147483000;width:min(380px,calc(100vw - 32px));" +
        "height:min(600px,calc(100vh - 96px));border:1px solid #ccc;border-radius:12px;background:#fff;box-shadow:0 4px 16px rgba(0,0,0,.25)";
      document.body.appendChild(frame);
    } else {
      frame.hidden = !frame.hidden;
    }
    button.setAttribute("aria-expanded", String(!frame.hidden));
  });
  function show(open) {
    if (!open) button.textContent = "Leave us a message";
    document.body.appendChild(button);
  }
  fetch(availabilityUrl, { credentials: "omit" })
    .then(function (r) { return r.ok ? r.json() : { open: false }; })
    .then(function (data) { show(data.open); })
    .catch(function () { show(false); });
})();
