// The only script of the pages, and none of them needs it: it moves focus to an error summary,
// prints a document, keeps an open hall board, a rating pad and a worklist's notice of new work live
// (server-sent events; the browser reconnects after a restart; a worklist's rows are never
// reordered under the pointer: a line with a link says what came), and returns a pad to waiting
// after its thank-you.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  var print = document.querySelector("[data-print]");
  if (print) { print.addEventListener("click", function () { window.print(); }); }
  var pad = document.querySelector("[data-pad-events]");
  if (pad && window.EventSource) {
    var padSource = new EventSource(pad.getAttribute("data-pad-events"));
    padSource.addEventListener("pad", function () { window.location.reload(); });
  }
  var work = document.querySelector("[data-work-events]");
  if (work && window.EventSource) {
    var workSource = new EventSource(work.getAttribute("data-work-events"));
    workSource.addEventListener("work", function (event) { work.innerHTML = event.data; });
  }
  var back = document.querySelector("[data-pad-return]");
  if (back) { window.setTimeout(function () { window.location.assign(back.getAttribute("data-pad-return")); }, 4000); }
  var board = document.querySelector("[data-events]");
  if (!board || !window.EventSource) { return; }
  var figures = document.getElementById("board-figures");
  var live = document.getElementById("board-live");
  var texts = { zh: ["实时更新", "连接中断，正在重新连接…"], en: ["Live", "Connection lost, reconnecting…"] };
  var text = document.documentElement.lang === "en" ? texts.en : texts.zh;
  function listen() {
    var source = new EventSource(board.getAttribute("data-events"));
    source.addEventListener("board", function (event) { figures.innerHTML = event.data; live.textContent = text[0]; });
    source.addEventListener("open", function () { live.textContent = text[0]; });
    source.addEventListener("error", function () {
      live.textContent = text[1];
      // the browser retries a dropped stream itself, but not one answered with an error status
      if (source.readyState === EventSource.CLOSED) { window.setTimeout(listen, 3000); }
    });
  }
  listen();
}());
