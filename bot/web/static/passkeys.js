// Passkeys on our pages. Every page works without this script (the PIN forms); with it, and a
// browser that knows WebAuthn, passkey buttons appear next to the PIN:
// - the link page: the options (derived from the intent by the server) are in the button;
// - step-up buttons on the account page fetch a one-time challenge for their action;
// - the "add a passkey" form asks the server (PIN or passkey first), then creates the key.
// The assertion travels in the form's hidden "assertion" field, as JSON.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  function fromB64(text) {
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64(buffer) {
    var bytes = new Uint8Array(buffer), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function descriptors(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, {id: fromB64(c.id)}); });
  }
  function requestOptions(o) {
    return Object.assign({}, o, {challenge: fromB64(o.challenge),
                                 allowCredentials: descriptors(o.allowCredentials)});
  }
  function creationOptions(o) {
    return Object.assign({}, o, {challenge: fromB64(o.challenge),
                                 user: Object.assign({}, o.user, {id: fromB64(o.user.id)}),
                                 excludeCredentials: descriptors(o.excludeCredentials)});
  }
  function assertionJSON(c) {
    var r = c.response;
    return JSON.stringify({
      id: c.id, rawId: toB64(c.rawId), type: c.type, clientExtensionResults: {},
      response: {clientDataJSON: toB64(r.clientDataJSON),
                 authenticatorData: toB64(r.authenticatorData), signature: toB64(r.signature),
                 userHandle: r.userHandle ? toB64(r.userHandle) : null}});
  }
  function attestationJSON(c) {
    var r = c.response;
    return JSON.stringify({
      id: c.id, rawId: toB64(c.rawId), type: c.type, clientExtensionResults: {},
      response: {clientDataJSON: toB64(r.clientDataJSON),
                 attestationObject: toB64(r.attestationObject),
                 transports: r.getTransports ? r.getTransports() : []}});
  }
  function say(form, text) {
    var p = form.querySelector(".passkey-error");
    if (p) { p.textContent = text; p.hidden = false; }
  }
  function post(url, fields) {
    return fetch(url, {method: "POST", credentials: "same-origin",
                       body: new URLSearchParams(fields)});
  }
  // Sign with a passkey, put the assertion in the form and send the form (no PIN needed).
  function sign(form, options) {
    return navigator.credentials.get({publicKey: requestOptions(options)}).then(function (c) {
      form.querySelector("input[name=assertion]").value = assertionJSON(c);
      var pin = form.querySelector("input[name=pin], input[name=old_pin]");
      if (pin) pin.required = false;
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    });
  }

  // Shown by CSS once this script runs (html.webauthn), so parts the app swaps in later
  // (its live "to confirm" list) show their passkey buttons too; clicks are delegated.
  document.documentElement.classList.add("webauthn");

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-passkey-options]");
    if (!button) return;
    var form = button.form;
    sign(form, JSON.parse(button.dataset.passkeyOptions)).catch(function () {
      say(form, button.dataset.failed);
    });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-step-up]");
    if (!button) return;
    var form = button.form;
    post("/account/step-up", {csrf: form.elements.csrf.value, action: button.dataset.stepUp})
      .then(function (res) { if (!res.ok) throw new Error("no options"); return res.json(); })
      .then(function (options) { return sign(form, options); })
      .catch(function () { say(form, button.dataset.failed); });
  });

  var add = document.getElementById("passkey-add");
  if (add) {
    add.addEventListener("submit", function (event) {
      event.preventDefault();
      var f = add.elements;
      var proof = f.assertion ? f.assertion.value : "";
      var fields = {csrf: f.csrf.value, name: f.name.value, pin: f.pin.value, assertion: proof};
      if (f.assertion) f.assertion.value = "";
      post("/account/passkeys/options", fields)
        .then(function (res) {
          return res.json().then(function (body) {
            if (!res.ok) throw new Error(body.error || add.dataset.failed);
            return navigator.credentials.create({publicKey: creationOptions(body)});
          });
        })
        .then(function (credential) {
          return post("/account/passkeys", {csrf: f.csrf.value, name: f.name.value,
                                            credential: attestationJSON(credential)});
        })
        .then(function (res) {
          return res.json().then(function (body) {
            if (!res.ok) throw new Error(body.error || add.dataset.failed);
            window.location.assign(body.redirect);
          });
        })
        .catch(function (error) {
          say(add, error && error.message && !(error instanceof DOMException)
              ? error.message : add.dataset.failed);
        });
    });
  }
})();
