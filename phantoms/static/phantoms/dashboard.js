/* Keeps the admin home's pipeline dashboard live: the server renders the same fragment every few
   seconds and it replaces the old one. Without JavaScript the page shows it as of loading. */
(function () {
  "use strict";
  function start() {
    var body = document.getElementById("dash-body");
    if (!body || !window.fetch) { return; }
    var url = body.getAttribute("data-refresh-url");
    var seconds = parseInt(body.getAttribute("data-refresh-seconds"), 10) || 10;
    function refresh() {
      if (document.hidden) { return; }
      fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) { if (html !== null) { body.innerHTML = html; } })
        .catch(function () { /* the next tick tries again */ });
    }
    window.setInterval(refresh, seconds * 1000);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
