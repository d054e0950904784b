// The tweetpay app's one script: service worker, live list (Server-Sent Events), Web Push.
// Without it the page still works by reloads; nothing here ever sees a PIN or a link token.
"use strict";
(function () {
  var app = document.getElementById("app");
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  }
  if (!app) { return; }
  var csrf = app.dataset.csrf;

  // Live: on each "change" the server sends, fetch the live parts and swap them in, unless
  // the user is typing a PIN there (the change shows on the next one).
  var live = document.getElementById("live");
  function typing() {
    var el = document.activeElement;
    return el && el.name === "pin" && el.value !== "" && live.contains(el);
  }
  function refresh() {
    if (typing()) { return; }
    fetch("/app/live", { credentials: "same-origin" }).then(function (r) {
      if (r.ok) { return r.text(); }
      throw new Error(String(r.status));
    }).then(function (html) { live.innerHTML = html; }).catch(function () {});
  }
  if (window.EventSource) {
    var first = true;
    var events = new EventSource("/app/events");
    events.addEventListener("change", function () {
      if (first) { first = false; return; }  // the page already shows this version
      refresh();
    });
  }

  // Web Push: on demand (a browser asks permission only after a tap).
  var on = document.getElementById("push-on");
  var off = document.getElementById("push-off");
  var hint = document.getElementById("push-hint");
  var unsupported = document.getElementById("push-unsupported");
  function key(base64) {
    var pad = "=".repeat((4 - base64.length % 4) % 4);
    var raw = atob((base64 + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }
  function show(subscribed) {
    on.hidden = subscribed; off.hidden = !subscribed; hint.hidden = !subscribed;
  }
  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf": csrf },
      body: body ? JSON.stringify(body) : "{}" });
  }
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    unsupported.hidden = false;
    return;
  }
  navigator.serviceWorker.ready.then(function (reg) {
    return reg.pushManager.getSubscription().then(function (sub) {
      show(Boolean(sub));
      on.addEventListener("click", function () {
        reg.pushManager.subscribe({ userVisibleOnly: true,
          applicationServerKey: key(app.dataset.vapid) }).then(function (s) {
          return post("/app/push", s.toJSON());
        }).then(function () { show(true); }).catch(function () { unsupported.hidden = false; });
      });
      off.addEventListener("click", function () {
        reg.pushManager.getSubscription().then(function (s) {
          return s ? s.unsubscribe() : true;
        }).then(function () { return post("/app/push/off"); }).then(function () { show(false); });
      });
    });
  });
})();
