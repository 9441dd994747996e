/* Why an htmx request failed, in words: the app's error fragment (.error-message), nginx's
   plain-text answer, a JSON error, or else the status. Shared by upload.js and gallery.js. */
window.imagehost = window.imagehost || {};
window.imagehost.reasonFrom = function (xhr) {
  "use strict";
  const _ = window.imagehost._;
  if (!xhr || !xhr.status) return _("the request did not reach the server (network error)");
  const type = (xhr.getResponseHeader("Content-Type") || "").toLowerCase();
  const text = xhr.responseText || "";
  if (type.startsWith("text/html")) {
    // DOMParser makes an inert document: nothing in it runs or loads.
    const doc = new DOMParser().parseFromString(text, "text/html");
    const message = doc.querySelector(".error-message");
    if (message) return message.textContent.trim();
  } else if (type.startsWith("text/plain") && text.trim()) {
    return text.trim().replace(/^error:\s*/, "").slice(0, 300);
  } else if (type.startsWith("application/json")) {
    try {
      return String(JSON.parse(text).error);
    } catch (e) { /* not our JSON: say the status */ }
  }
  return _("the server answered {status} {reason}", { status: xhr.status, reason: xhr.statusText });
};

/* The element that made the request: htmx re-sets detail.elt to whichever element it fires an
   event on, but requestConfig keeps the one that asked. */
window.imagehost.requester = function (evt) {
  "use strict";
  const detail = evt.detail || {};
  return (detail.requestConfig && detail.requestConfig.elt) || detail.elt || null;
};
