// The portal's small behaviours; every page works without them.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The language picker applies the choice at once.
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
  });

  // The deflection funnel: a new-case form left with text typed but never sent.
  var form = document.getElementById("new-case-form");
  if (form) {
    var sent = false;
    form.addEventListener("submit", function () { sent = true; });
    window.addEventListener("pagehide", function () {
      var typed = (form.elements.subject.value + form.elements.body.value).trim();
      if (sent || !typed || !navigator.sendBeacon) return;
      var data = new FormData();
      data.append("csrf_token", form.elements.csrf_token.value);
      data.append("attempt", form.elements.attempt.value);
      data.append("subject", form.elements.subject.value.slice(0, 300));
      data.append("step", "form_abandoned");
      navigator.sendBeacon(form.dataset.funnelUrl, data);
    });
  }
})();
