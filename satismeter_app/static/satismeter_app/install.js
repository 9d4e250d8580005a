/* The install page: copy buttons, and the live check asked again every few seconds. */
(function () {
  "use strict";
  var EVERY = 5000;

  function copy(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var text = source ? source.textContent : "";
    var done = function () {
      var label = button.textContent;
      button.textContent = "✓";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { select(source); });
    } else {
      select(source);
    }
  }

  function select(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function show(live, name, part) {
    var element = live.querySelector('[data-live="' + name + '"]');
    element.textContent = part ? part.text : element.getAttribute("data-empty");
  }

  function check(live) {
    return fetch(live.getAttribute("data-status-url"), {credentials: "same-origin"})
      .then(function (reply) { return reply.ok ? reply.json() : null; })
      .then(function (status) {
        if (!status) { return; }
        show(live, "widget", status.widget);
        show(live, "inbound", status.inbound);
        live.querySelector('[data-live="checked"]').textContent =
          new Date().toLocaleTimeString();
      })
      .catch(function () {});
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () { copy(button); });
    });
    var live = document.querySelector("[data-status-url]");
    if (!live) { return; }
    live.querySelector("[data-check-again]").addEventListener("click", function () { check(live); });
    setInterval(function () { if (!document.hidden) { check(live); } }, EVERY);
  });
})();
