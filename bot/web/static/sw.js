// The tweetpay app's service worker (served at /sw.js, scope /): an offline page, and the
// Web Push notices. It caches no page with data in it: only the offline page and its assets.
"use strict";
var CACHE = "tweetpay-v1";
var OFFLINE = ["/offline", "/static/tweetpay.css", "/static/icons/icon.svg",
  "/static/icons/icon-192.png"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(OFFLINE); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function () {
      return caches.match("/offline");
    }));
    return;
  }
  var url = new URL(request.url);
  if (url.origin === location.origin && url.pathname.indexOf("/static/") === 0) {
    event.respondWith(fetch(request).catch(function () { return caches.match(request); }));
  }
});

// A push says what happened and opens the app; it never carries a link or a secret.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  event.waitUntil(self.registration.showNotification(data.title || "tweetpay", {
    body: data.body || "", tag: data.tag, icon: "/static/icons/icon-192.png",
    badge: "/static/icons/icon-192.png", data: { url: data.url || "/" }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.matchAll({ type: "window" }).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if ("focus" in list[i]) { list[i].navigate(url); return list[i].focus(); }
    }
    return self.clients.openWindow(url);
  }));
});
