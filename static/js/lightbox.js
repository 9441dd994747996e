/* The share page's lightbox: a tile opens its full image in a dialog, with the direct link
   and embed codes; Left and Right arrows (or a swipe, or the buttons) go to the previous and
   next image, loading the album's next page at the end; Esc closes it. */
(function () {
  "use strict";

  const SWIPE_PX = 40;
  const dialog = document.getElementById("lightbox");
  const tiles = document.getElementById("tiles");
  if (!dialog || !tiles || !dialog.showModal || !window.imagehost) return;

  const _ = window.imagehost._;
  const number = window.imagehost.number;
  const image = document.getElementById("lightbox-image");
  const title = document.getElementById("lightbox-title");
  const position = document.getElementById("lightbox-position");
  const previous = dialog.querySelector(".lightbox-prev");
  const next = dialog.querySelector(".lightbox-next");
  const total = Number(tiles.dataset.count) || 0;
  let current = -1;
  let opener = null;

  function links() {
    return Array.from(tiles.querySelectorAll(".tile > a"));
  }

  function show(index) {
    const all = links();
    if (index < 0 || index >= all.length) return;
    current = index;
    const link = all[index];
    image.src = link.href;
    image.alt = link.dataset.title;
    title.textContent = link.dataset.title;
    position.textContent = _("{n} of {count}", { n: number(index + 1), count: number(total) });
    const snippets = JSON.parse(link.dataset.snippets || "{}");
    dialog.querySelectorAll("[data-snippet]").forEach(function (field) {
      field.value = snippets[field.dataset.snippet] || "";
    });
    previous.disabled = index === 0;
    next.disabled = index === all.length - 1 && !tiles.querySelector(".more");
    if (!dialog.open) dialog.showModal();
  }

  async function forward() {
    if (current + 1 < links().length) return show(current + 1);
    const more = tiles.querySelector(".more");
    if (!more || !window.htmx) return;
    await htmx.ajax("GET", more.getAttribute("hx-get"), { target: more, swap: "outerHTML" });
    show(current + 1);
  }

  function back() {
    show(current - 1);
  }

  tiles.addEventListener("click", function (evt) {
    const link = evt.target.closest(".tile > a");
    if (!link || evt.button !== 0 || evt.ctrlKey || evt.metaKey || evt.shiftKey || evt.altKey) return;
    evt.preventDefault();
    opener = link;
    show(links().indexOf(link));
  });

  previous.addEventListener("click", back);
  next.addEventListener("click", forward);
  dialog.querySelector(".lightbox-close").addEventListener("click", function () { dialog.close(); });
  // A click on the backdrop (the dialog itself, outside its content) closes it too.
  dialog.addEventListener("click", function (evt) { if (evt.target === dialog) dialog.close(); });
  dialog.addEventListener("close", function () {
    image.removeAttribute("src");
    if (opener && links()[current]) links()[current].focus();
  });

  dialog.addEventListener("keydown", function (evt) {
    if (evt.target.matches("input") && evt.key !== "Escape") return; // moving in a field
    if (evt.key === "ArrowRight") { evt.preventDefault(); forward(); }
    if (evt.key === "ArrowLeft") { evt.preventDefault(); back(); }
  });

  // The whole stage takes swipes, not only the image: a small image leaves most of it empty,
  // and on a phone, where the buttons are hidden, a swipe is the way on. A second finger
  // (a pinch) or the browser taking the gesture (a vertical pan) is no swipe.
  const stage = dialog.querySelector(".lightbox-stage");
  let start = null;
  stage.addEventListener("pointerdown", function (evt) {
    start = evt.isPrimary ? { x: evt.clientX, y: evt.clientY } : null;
  });
  stage.addEventListener("pointercancel", function () { start = null; });
  stage.addEventListener("pointerup", function (evt) {
    if (!start || !evt.isPrimary) return;
    const dx = evt.clientX - start.x;
    const dy = evt.clientY - start.y;
    start = null;
    if (Math.abs(dx) < SWIPE_PX || Math.abs(dx) < Math.abs(dy)) return;
    if (dx < 0) forward(); else back();
  });
  image.addEventListener("dragstart", function (evt) { evt.preventDefault(); });
})();
