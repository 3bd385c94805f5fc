// Follow the network live. The page listens to its network's events (htmx's SSE extension,
// on #follow in page.html): after a change made elsewhere (by the owner, another of the
// owner's tabs, or a live training's chunk) it fetches what changed; the count of followers
// is written in place. While a training runs, each chunk fetches only the regions a chunk
// changes (/n/{id}/live); its end fetches them all once.
// Why script: the lab is fetched only while the version on show is older than the newest
// event's, and only once this page's own requests have landed (their answers may already
// bring that version), which htmx attributes cannot express (and eval is off by the CSP).
"use strict";

let newest = 0;
let training = false; // the newest event is of a live training (running, or just stopped)

let fetching = false; // one fetch of ours at a time: a slow answer must not queue up more

function refresh() {
  const status = document.getElementById("status");
  const shown = status ? Number(status.dataset.version) : 0;
  if (newest > shown && !fetching && !document.querySelector(".htmx-request")) {
    // Queued behind this page's own requests (#page's hx-sync), so it lands after them;
    // and never more than one, so that a click (Stop) waits for one fetch at most.
    fetching = true;
    const done = () => { fetching = false; refresh(); };
    if (training) {
      htmx.ajax("GET", window.location.pathname + "/live", { source: "#follow", swap: "none" }).then(done, done);
    } else {
      htmx.ajax("GET", window.location.pathname, { source: "#follow", target: "#lab", swap: "outerHTML" }).then(done, done);
    }
  }
}

document.addEventListener("htmx:sseMessage", (event) => {
  const data = JSON.parse(event.detail.data);
  if (event.detail.type === "followers") {
    const count = document.getElementById("followers");
    if (count) count.textContent = data.followers;
  } else if (data.action === "delete") {
    window.location.assign("/");
  } else {
    // While a training runs, whatever the change (a chunk, an edit, the stream opening),
    // only what a chunk redraws is fetched: never the controls, so Stop stays put.
    if (data.version > newest) training = data.run === "running" || (data.run !== null && data.action === "stop");
    newest = Math.max(newest, data.version);
    refresh();
  }
});
document.addEventListener("htmx:afterSettle", refresh);
