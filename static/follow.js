// Follow the network live. The page listens to its network's events (htmx's SSE extension,
// on #follow, templates/follow.html); the count of followers is written in place.
//
// A follower's stream brings, after each change, the lab it leads to (a `lab` event, drawn
// once on the server for every follower with the same display preferences, app/followers.py):
// the page swaps it in, with no request of its own. While a training runs, that is only
// the regions a chunk changes (out of band). The owner's other tabs, and a follower whose
// stream cannot bring a change (the stream just opened on a page behind, or its lab was
// drawn with other preferences), fetch what changed: the lab, or during a training its live
// regions (/n/{id}/live), and once it has ended, them all.
// Why script: what arrives is swapped only while it is newer than the version on show, and
// only once this page's own requests have landed (their answers may already bring that
// version), which htmx attributes cannot express (and eval is off by the CSP).
"use strict";

let newest = 0; // the newest version an event named
let brought = 0; // the newest version this page's stream is bringing the lab of
let training = false; // the newest event is of a live training (running, or just stopped)
let lab = null; // the newest lab the stream brought, not swapped in yet: {version, swap, html}

let fetching = false; // one fetch of ours at a time: a slow answer must not queue up more

function shown() {
  const status = document.getElementById("status");
  return status ? Number(status.dataset.version) : 0;
}

function follow() {
  return document.getElementById("follow");
}

function refresh() {
  // Queued behind this page's own requests (#page's hx-sync): what they bring comes first.
  if (document.querySelector(".htmx-request")) return;
  if (lab) {
    const { version, swap, html, view } = lab;
    lab = null;
    const source = follow();
    if (!source || view !== source.dataset.view) {
      brought = 0; // drawn for a stream this page has left (its preferences changed): fetch
    } else if (version > shown()) {
      if (swap === "live") htmx.swap(follow(), html, { swapStyle: "none" }); // out of band
      else htmx.swap("#lab", html, { swapStyle: "outerHTML" });
    }
  }
  if (newest > shown() && newest > brought && !fetching) {
    // Never more than one, so that a click (Stop) waits for one fetch at most.
    fetching = true;
    const done = () => { fetching = false; refresh(); };
    if (training) {
      htmx.ajax("GET", window.location.pathname + "/live", { source: "#follow", swap: "none" }).then(done, done);
    } else {
      htmx.ajax("GET", window.location.pathname, { source: "#follow", target: "#lab", swap: "outerHTML" }).then(done, done);
    }
  }
}

function brought_lab(data) {
  const cut = data.indexOf("\n");
  const head = JSON.parse(data.slice(0, cut));
  if (!lab || head.version > lab.version) {
    lab = { version: head.version, swap: head.swap, view: head.view, html: data.slice(cut + 1) };
  }
  refresh();
}

document.addEventListener("htmx:sseMessage", (event) => {
  const type = event.detail.type;
  if (type === "lab") return brought_lab(event.detail.data);
  const data = JSON.parse(event.detail.data);
  if (type === "followers") {
    const count = document.getElementById("followers");
    if (count) count.textContent = data.followers;
  } else if (data.action === "delete") {
    window.location.assign("/");
  } else {
    // While a training runs, whatever the change (a chunk, an edit, the stream opening),
    // only what a chunk redraws is fetched: never the controls, so Stop stays put.
    if (data.version > newest) training = data.run === "running" || (data.run !== null && data.action === "stop");
    newest = Math.max(newest, data.version);
    // A follower's stream brings the lab of every change after its opening event; what
    // came before it (the page was behind, or another stream was to bring it) is fetched.
    const source = follow();
    if (data.action === "open") brought = 0;
    else if (source && source.hasAttribute("data-labs")) brought = Math.max(brought, data.version);
    refresh();
  }
});
document.addEventListener("htmx:afterSettle", refresh);
