/* The users page's htmx forms (a role, a quota): what was done arrives with the answer (the
   notice swapped in beside the row); a refusal, which htmx does not swap, is said here in the
   same notice, in the server's own words; a field the browser finds invalid is shown too. */
(function () {
  "use strict";

  const _ = window.imagehost._;

  function notice() {
    return document.getElementById("users-notice");
  }

  function say(text) {
    const region = notice();
    if (!region) return;
    const line = document.createElement("p");
    line.className = "error";
    line.setAttribute("role", "alert");
    line.textContent = text;
    region.replaceChildren(line);
  }

  document.addEventListener("htmx:afterRequest", function (evt) {
    const elt = window.imagehost.requester(evt);
    if (!elt || !elt.closest || !elt.closest("table.users") || evt.detail.successful) return;
    const reason = window.imagehost.reasonFrom(evt.detail.xhr);
    say(_("Nothing changed for {name}: {reason}", { name: elt.dataset.name, reason: reason }));
  });

  /* htmx does not send a form the browser finds invalid, and says nothing: the browser does. */
  document.addEventListener("htmx:validation:halted", function (evt) {
    const form = evt.target.closest ? evt.target.closest("form") : null;
    if (form && form.closest("table.users")) form.reportValidity();
  });
})();
