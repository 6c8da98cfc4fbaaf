// The worklist's live notice of new work (server-sent events): a line with a link, never rows
// reordered under the pointer. Without JavaScript the worklist is the same, minus the notice.
(function () {
  "use strict";
  var notice = document.querySelector("[data-work-events]");
  if (!notice || !window.EventSource) { return; }
  var source = new EventSource(notice.getAttribute("data-work-events"));
  source.addEventListener("work", function (event) { notice.innerHTML = event.data; });
}());
