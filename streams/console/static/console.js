// riskstream console: a live refresh never wipes a form someone is filling in.
// The content refreshes when something it shows changed (hx-trigger="sse:..."); while an action
// form is open, the refresh waits, and runs when the form is closed or sent.
(function () {
  "use strict";
  var waiting = false;

  function formOpen() {
    return document.querySelector("#content details[open]") !== null;
  }

  document.addEventListener("htmx:confirm", function (event) {
    if (event.detail.elt.id === "content" && formOpen()) {
      event.preventDefault();
      waiting = true;
    }
  });

  // A form sent: close it (the page says what was sent, in #flash).
  document.addEventListener("htmx:afterRequest", function (event) {
    var details = event.detail.elt.closest && event.detail.elt.closest("details");
    if (details && event.detail.successful) {
      details.open = false;
    }
  });

  document.addEventListener("toggle", function () {
    if (waiting && !formOpen()) {
      waiting = false;
      htmx.trigger("#content", "refresh");
    }
  }, true);
})();
