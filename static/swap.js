// Swapping a region out of band, htmx cleans up the old one element by element, firing
// two events on each: for a large network's graph or δ panel (thousands of elements)
// that was most of a step's time. Nothing in a region needs that cleanup (its triggers
// are on its own elements: no polling, no `from:` listeners elsewhere), so its old
// contents go at once and htmx cleans up only the region's root.
"use strict";

document.addEventListener("htmx:oobBeforeSwap", (event) => {
  const { target, shouldSwap } = event.detail;
  if (shouldSwap && target === event.target) target.replaceChildren();
});
