// Follows the page live: every two seconds, fetch the element's fragment and swap it in.
// No framework; a page that is not live (an older page, a search) has no data-live.
// While refreshes fail (a 503 from a console whose local cloud went away, or no answer at all) the page
// says so above what it shows, which is then older than it looks; the notice goes once a refresh succeeds.
(function () {
  "use strict";
  var INTERVAL_MS = 2000;
  var NOTICE_ID = "live-down";
  function showDown(element, why) {
    var notice = document.getElementById(NOTICE_ID);
    if (!notice) {
      notice = document.createElement("p");
      notice.id = NOTICE_ID;
      notice.className = "error live-down";
      notice.setAttribute("role", "status");
      element.parentNode.insertBefore(notice, element);
    }
    // textContent, not innerHTML: nothing from the answer is read as markup
    notice.textContent = "The local cloud does not answer; retrying (" + why + "). What this page shows may be out of date.";
  }
  function showUp() {
    var notice = document.getElementById(NOTICE_ID);
    if (notice) { notice.parentNode.removeChild(notice); }
  }
  function follow(element) {
    var url = element.getAttribute("data-live");
    if (!url) { return; }
    function refresh() {
      fetch(url, { headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok) {
            showDown(element, "HTTP " + response.status);
            return null;
          }
          return response.text();
        })
        .then(function (html) {
          if (html !== null) {
            element.innerHTML = html;
            showUp();
          }
        })
        .catch(function () { showDown(element, "no answer"); })
        .then(function () { window.setTimeout(refresh, INTERVAL_MS); });
    }
    window.setTimeout(refresh, INTERVAL_MS);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live");
    if (live) { follow(live); }
  });
})();
