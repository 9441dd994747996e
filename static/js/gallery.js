/* The gallery's small behaviours: copy buttons, and saying what happened in the notice
   region (copied, deleted, or why a gallery request failed). */
(function () {
  "use strict";

  const _ = window.imagehost._;
  const notice = document.getElementById("notice");

  let clearing = 0;
  function announce(text) {
    if (!notice) return;
    notice.textContent = text;
    clearTimeout(clearing);
    clearing = setTimeout(function () { notice.textContent = ""; }, 5000);
  }

  /* navigator.clipboard exists only in secure contexts (https, localhost); a self-hosted
     instance on plain http on a LAN falls back to selecting the text and execCommand. */
  async function copyText(field) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(field.value);
        return true;
      } catch (e) { /* permission refused: try the old way */ }
    }
    field.focus();
    field.select();
    return document.execCommand("copy");
  }

  document.addEventListener("click", async function (evt) {
    const button = evt.target.closest("button.copy");
    if (!button) return;
    const field = document.getElementById(button.dataset.copy);
    if (!field) return;
    const label = document.querySelector('label[for="' + field.id + '"]');
    const what = label ? label.textContent : _("Text");
    if (await copyText(field)) {
      button.textContent = _("Copied");
      announce(_("{what} copied to the clipboard", { what: what }));
    } else {
      field.select();
      announce(_("Could not copy; the text is selected, press Ctrl+C"));
    }
    setTimeout(function () { button.textContent = _("Copy"); }, 2000);
  });

  /* Requests from cards and the "older uploads" sentinel; upload.js reports uploads. */
  document.addEventListener("htmx:afterRequest", function (evt) {
    const elt = window.imagehost.requester(evt);
    if (!elt || !elt.closest || elt.closest(".upload-item")) return;
    const deleting = elt.matches("form.delete");
    const selecting = elt.matches("form.selection");
    if (evt.detail.successful) {
      if (deleting) announce(_("Deleted {title}", { title: elt.dataset.title }));
      if (selecting) {
        document.querySelectorAll('input.pick:checked').forEach(function (box) { box.checked = false; });
      }
      return;
    }
    const reason = window.imagehost.reasonFrom(evt.detail.xhr);
    if (deleting) announce(_("Could not delete: {reason}", { reason: reason }));
    else if (selecting) announce(_("Could not change the album: {reason}", { reason: reason }));
    else if (elt.matches("form.remove")) announce(_("Could not remove it from the album: {reason}", { reason: reason }));
    else announce(_("Could not load more: {reason}", { reason: reason }));
  });
})();
