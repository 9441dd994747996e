/* An album's own page: reorder its images by dragging them, with their up and down buttons,
   or with Alt+Up and Alt+Down; confirm before the album is deleted. The server keeps the
   order; the list changes once it has answered (or is put back when it refuses). */
(function () {
  "use strict";

  const list = document.getElementById("album-items");
  if (!list || !window.imagehost) return;
  const _ = window.imagehost._;
  const notice = document.getElementById("notice");

  function say(text) {
    if (notice) notice.textContent = text;
  }

  function items() {
    return Array.from(list.querySelectorAll(".album-item"));
  }

  function titleOf(item) {
    return item.querySelector(".title").textContent;
  }

  /* POST a move; resolves to true when the server took it. */
  async function send(item, field, value) {
    const form = item.querySelector("form.move");
    const body = new FormData(form);
    body.set(field, value);
    let answer;
    try {
      answer = await fetch(form.action, { method: "POST", body: body, headers: { "HX-Request": "true" } });
    } catch (e) {
      say(_("Could not move {name}: {reason}", { name: titleOf(item), reason: _("the server could not be reached") }));
      return false;
    }
    if (!answer.ok) {
      // DOMParser makes an inert document: nothing in it runs or loads.
      const doc = new DOMParser().parseFromString(await answer.text(), "text/html");
      const message = doc.querySelector(".error-message");
      const reason = message ? message.textContent.trim() : String(answer.status);
      say(_("Could not move {name}: {reason}", { name: titleOf(item), reason: reason }));
      return false;
    }
    return true;
  }

  function announcePlace(item) {
    say(_("{name} is now at place {place}", {
      name: titleOf(item), place: window.imagehost.number(items().indexOf(item) + 1),
    }));
  }

  async function step(item, direction, focusButton) {
    const neighbour = direction === "up" ? item.previousElementSibling : item.nextElementSibling;
    if (!neighbour || !neighbour.matches(".album-item")) return;
    if (!(await send(item, "direction", direction))) return;
    if (direction === "up") list.insertBefore(item, neighbour);
    else list.insertBefore(item, neighbour.nextElementSibling);
    if (focusButton) item.querySelector('button[value="' + direction + '"]').focus();
    announcePlace(item);
  }

  list.addEventListener("click", function (evt) {
    const button = evt.target.closest("form.move button");
    if (!button) return;
    evt.preventDefault();
    step(button.closest(".album-item"), button.value, true);
  });

  list.addEventListener("keydown", function (evt) {
    if (!evt.altKey || (evt.key !== "ArrowUp" && evt.key !== "ArrowDown")) return;
    const item = evt.target.closest(".album-item");
    if (!item) return;
    evt.preventDefault();
    step(item, evt.key === "ArrowUp" ? "up" : "down", true);
  });

  /* -- dragging ------------------------------------------------------------------------ */
  let dragged = null;
  let home = null; // where it was, to put it back if the server refuses

  list.addEventListener("dragstart", function (evt) {
    dragged = evt.target.closest(".album-item");
    if (!dragged) return;
    home = dragged.nextElementSibling;
    evt.dataTransfer.effectAllowed = "move";
    evt.dataTransfer.setData("text/plain", dragged.dataset.name);
    dragged.classList.add("dragging");
  });

  list.addEventListener("dragover", function (evt) {
    if (!dragged) return;
    evt.preventDefault();
    const over = evt.target.closest(".album-item");
    if (!over || over === dragged) return;
    const box = over.getBoundingClientRect();
    const wide = list.scrollWidth > box.width * 1.5; // a grid: compare across, else down
    const before = wide ? evt.clientX < box.left + box.width / 2 : evt.clientY < box.top + box.height / 2;
    list.insertBefore(dragged, before ? over : over.nextElementSibling);
  });

  list.addEventListener("drop", function (evt) {
    if (dragged) evt.preventDefault();
  });

  list.addEventListener("dragend", async function () {
    const item = dragged;
    dragged = null;
    if (!item) return;
    item.classList.remove("dragging");
    if (item.nextElementSibling === home) return; // not moved
    const before = item.previousElementSibling;
    const after = before && before.matches(".album-item") ? before.dataset.name : "";
    if (await send(item, "after", after)) announcePlace(item);
    else list.insertBefore(item, home);
  });

  /* -- deleting the album -------------------------------------------------------------- */
  const remover = document.querySelector(".danger-zone form");
  if (remover) {
    remover.addEventListener("submit", function (evt) {
      const images = remover.querySelector('input[name="images"]').checked;
      if (!window.confirm(images ? remover.dataset.confirmImages : remover.dataset.confirm)) {
        evt.preventDefault();
      }
    });
  }
})();
