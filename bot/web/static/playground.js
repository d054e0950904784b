// The sandbox playground: refresh the timeline and the DMs every two seconds.
"use strict";
(function () {
  var feed = document.getElementById("feed");
  if (!feed) { return; }
  var who = encodeURIComponent(feed.dataset.as);
  setInterval(function () {
    fetch("/playground/feed?as=" + who, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) { if (html !== null) { feed.innerHTML = html; } })
      .catch(function () {});
  }, 2000);
})();
