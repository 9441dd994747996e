/* Uploads from the page: choose, drop or paste images. Every file is its own htmx request
   (PARALLEL at a time, the rest wait) with its own progress bar and status; the server's
   card fragment goes to the top of the gallery, and a refused file shows why next to it.
   A 429 (nginx's per-address limit) ends no file: the file waits Retry-After seconds and is
   sent again, and the queue starts at most one file per Retry-After until it is empty. */
(function () {
  "use strict";

  const PARALLEL = 3;
  const TYPES = { "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif" };
  const EXTENSION = /\.(jpe?g|png|gif)$/i;
  // Chromium and Firefox call every pasted bitmap "image.png": that is no name at all.
  const GENERIC_PASTE_NAME = /^image\.(png|jpe?g|gif)$/i;
  const DONE_ITEM_LINGER_MS = 4000;
  // When a 429 carries no usable Retry-After (a proxy of its own in front, say).
  const DEFAULT_RETRY_SECONDS = 5;
  // Paced starts reach nginx a few milliseconds apart from how they left: a little slack keeps
  // one that arrives early from being refused at the edge of the limit.
  const PACE_SLACK_MS = 50;

  const form = document.getElementById("upload-form");
  const input = document.getElementById("file");
  const list = document.getElementById("uploads");
  const gallery = document.getElementById("gallery");
  const album = document.getElementById("upload-album"); // only when the owner has albums
  const expiry = document.getElementById("expires_in");
  const sxcu = document.getElementById("sxcu");
  if (!form || !input || !list || !gallery || !window.htmx || !window.imagehost) return;

  const _ = window.imagehost._;
  const ngettext = window.imagehost.ngettext;
  const number = window.imagehost.number;
  const maxBytes = Number(form.dataset.maxBytes);
  const queue = [];
  const fileOf = new WeakMap(); // item -> its File, to send it again after a 429
  let running = 0;
  let counter = 0;
  let pausedUntil = 0; // after a 429, nothing starts before this (Date.now() time)
  let pace = 0; // after a 429, at least this long between starts, until the queue is empty
  let lastStart = 0;
  let wake = null;

  document.documentElement.classList.add("js");
  input.multiple = true;
  input.required = false;

  function mib(bytes) {
    return _("{value} MiB", { value: number(bytes / 1048576, 1) });
  }

  function bytes(n) {
    return ngettext("{count} byte", "{count} bytes", n, { count: number(n) });
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  /* pasted-2026-11-25-104233.png, in the visitor's local time. */
  function pastedName(type, now) {
    const date = [now.getFullYear(), pad(now.getMonth() + 1), pad(now.getDate())].join("-");
    const time = pad(now.getHours()) + pad(now.getMinutes()) + pad(now.getSeconds());
    return "pasted-" + date + "-" + time + "." + (TYPES[type] || "png");
  }

  /* A fast answer before sending; the server checks the bytes again and has the last word. */
  function refusal(file) {
    if (!TYPES[file.type] && !EXTENSION.test(file.name)) {
      return _("not a JPEG, PNG or GIF image");
    }
    if (file.size === 0) return _("the file is empty");
    if (file.size > maxBytes) {
      return _("the file is too large ({size}); the limit is {limit} ({limit_mib})", {
        size: bytes(file.size), limit: bytes(maxBytes), limit_mib: mib(maxBytes),
      });
    }
    return "";
  }

  function newItem(file) {
    counter += 1;
    const item = document.createElement("li");
    item.className = "upload-item";
    item.id = "upload-" + counter;
    // htmx sends a File only in a multipart body, and takes the encoding from the element
    // that makes the request: this item.
    item.setAttribute("hx-encoding", "multipart/form-data");
    const name = document.createElement("span");
    name.className = "file-name";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", _("Progress of {name}", { name: file.name }));
    const status = document.createElement("span");
    status.className = "status";
    item.append(name, bar, status);
    list.append(item);
    return item;
  }

  function setStatus(item, text, state) {
    item.querySelector(".status").textContent = text;
    if (state) item.dataset.state = state;
  }

  function fail(item, reason) {
    setStatus(item, reason, "failed");
    item.querySelector("progress").hidden = true;
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "dismiss";
    dismiss.textContent = "×";
    const name = item.querySelector(".file-name").textContent;
    dismiss.setAttribute("aria-label", _("Dismiss {name}", { name: name }));
    dismiss.addEventListener("click", function () { item.remove(); });
    item.append(dismiss);
  }

  function addFiles(files) {
    for (const file of files) {
      const item = addItem(file);
      const reason = refusal(file);
      if (reason) {
        fail(item, reason);
      } else {
        setStatus(item, _("waiting"), "waiting");
        fileOf.set(item, file);
        queue.push(item);
      }
    }
    pump();
  }

  function pump() {
    while (running < PARALLEL && queue.length) {
      const now = Date.now();
      const startAt = Math.max(pausedUntil, lastStart + pace);
      if (now < startAt) {
        clearTimeout(wake);
        wake = setTimeout(pump, startAt - now);
        return;
      }
      start(queue.shift(), now);
    }
    if (!running && !queue.length) pace = 0; // the next drop starts at full speed again
  }

  function addItem(file) {
    const item = newItem(file);
    // The album chosen when the file was dropped, even if the chooser changes before it is sent.
    if (album && album.value) item.dataset.album = album.value;
    // So is "delete after".
    if (expiry) item.dataset.expiresIn = expiry.value;
    return item;
  }

  function start(item, now) {
    running += 1;
    lastStart = now;
    setStatus(item, _("uploading"), "uploading");
    const values = { file: fileOf.get(item) };
    if (item.dataset.album) values.album = item.dataset.album;
    if (item.dataset.expiresIn !== undefined) values.expires_in = item.dataset.expiresIn;
    htmx.ajax("POST", "/upload", {
      source: item,
      target: gallery,
      swap: "afterbegin",
      values: values,
    }).catch(function () { /* reported by the htmx:afterRequest handler below */ })
      .finally(function () {
        running -= 1;
        pump();
      });
  }

  function retryAfterSeconds(xhr) {
    const value = (xhr.getResponseHeader("Retry-After") || "").trim();
    return /^\d+$/.test(value) ? Math.max(1, Number(value)) : DEFAULT_RETRY_SECONDS;
  }

  /* Back into the queue ahead of the files not yet tried, in the order they were chosen. */
  function sendAgainLater(item, seconds) {
    pausedUntil = Math.max(pausedUntil, Date.now() + seconds * 1000);
    pace = Math.max(pace, seconds * 1000 + PACE_SLACK_MS);
    item.querySelector("progress").value = 0; // what was sent is sent again
    setStatus(item, _("waiting {seconds} s for the server's upload limit, then sent again",
      { seconds: number(seconds) }), "retrying");
    const order = function (elt) { return Number(elt.id.slice("upload-".length)); };
    const later = queue.findIndex(function (queued) { return order(queued) > order(item); });
    queue.splice(later === -1 ? queue.length : later, 0, item);
  }

  function uploadItem(evt) {
    const elt = window.imagehost.requester(evt);
    return elt && elt.closest ? elt.closest(".upload-item") : null;
  }

  document.addEventListener("htmx:xhr:progress", function (evt) {
    const item = uploadItem(evt);
    if (!item || !evt.detail.lengthComputable || !evt.detail.total) return;
    const bar = item.querySelector("progress");
    // htmx reports the response's download progress under the same name: never go back.
    const percent = Math.max(bar.value, Math.round((100 * evt.detail.loaded) / evt.detail.total));
    bar.value = percent;
    // The bar carries the figure: the status sits in a live region, so it changes rarely.
    // At 100 % the whole body is out and the server is still checking the image.
    if (percent === 100) setStatus(item, _("checking"));
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    const item = uploadItem(evt);
    if (!item) return;
    const xhr = evt.detail.xhr;
    if (evt.detail.successful) {
      item.querySelector("progress").value = 100;
      setStatus(item, _("uploaded"), "done");
      fileOf.delete(item);
      setTimeout(function () { item.remove(); }, DONE_ITEM_LINGER_MS);
    } else if (xhr && xhr.status === 429) {
      sendAgainLater(item, retryAfterSeconds(xhr));
    } else {
      fileOf.delete(item);
      fail(item, window.imagehost.reasonFrom(xhr));
    }
  });

  /* The ShareX file the page offers asks for what "delete after" says. */
  function offerSxcu() {
    if (sxcu && expiry) sxcu.href = "/imagehost.sxcu?expires_in=" + encodeURIComponent(expiry.value);
  }
  if (expiry) expiry.addEventListener("change", offerSxcu);
  offerSxcu();

  /* -- the three ways in --------------------------------------------------------------- */
  input.addEventListener("change", function () {
    addFiles(Array.from(input.files));
    input.value = "";
  });

  form.addEventListener("submit", function (evt) {
    evt.preventDefault();
    addFiles(Array.from(input.files));
    input.value = "";
  });

  function carriesFiles(evt) {
    return evt.dataTransfer && Array.from(evt.dataTransfer.types).includes("Files");
  }

  let dragDepth = 0;
  document.addEventListener("dragenter", function (evt) {
    if (!carriesFiles(evt)) return;
    evt.preventDefault();
    dragDepth += 1;
    document.body.classList.add("dragging");
  });
  document.addEventListener("dragover", function (evt) {
    if (!carriesFiles(evt)) return;
    evt.preventDefault();
    evt.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("dragleave", function (evt) {
    if (!carriesFiles(evt)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) document.body.classList.remove("dragging");
  });
  document.addEventListener("drop", function (evt) {
    if (!carriesFiles(evt)) return;
    evt.preventDefault();
    dragDepth = 0;
    document.body.classList.remove("dragging");
    addFiles(Array.from(evt.dataTransfer.files));
  });

  function pastedFiles(data) {
    let files = Array.from(data.files || []);
    if (!files.length) {
      files = Array.from(data.items || [])
        .filter(function (item) { return item.kind === "file"; })
        .map(function (item) { return item.getAsFile(); })
        .filter(Boolean);
    }
    const now = new Date();
    return files.map(function (file) {
      if (file.name && !GENERIC_PASTE_NAME.test(file.name)) return file;
      return new File([file], pastedName(file.type, now), { type: file.type });
    });
  }

  document.addEventListener("paste", function (evt) {
    if (!evt.clipboardData) return;
    const files = pastedFiles(evt.clipboardData);
    if (!files.length) return; // plain text: leave the paste alone
    evt.preventDefault();
    addFiles(files);
  });
})();
