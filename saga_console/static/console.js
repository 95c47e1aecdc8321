// Follows the page live: every two seconds, fetch the element's fragment and swap it in.
// No framework; a page that is not live (an older page, a search) has no data-live.
(function () {
  "use strict";
  var INTERVAL_MS = 2000;
  function follow(element) {
    var url = element.getAttribute("data-live");
    if (!url) { return; }
    function refresh() {
      fetch(url, { headers: { "Accept": "text/html" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) { if (html !== null) { element.innerHTML = html; } })
        .catch(function () { /* the server is away for a moment: try again next time */ })
        .then(function () { window.setTimeout(refresh, INTERVAL_MS); });
    }
    window.setTimeout(refresh, INTERVAL_MS);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live");
    if (live) { follow(live); }
  });
})();
