// Keyboard shortcuts: a key clicks the button that declares it in aria-keyshortcuts
// (→ and Space next, ← previous, Enter whole iteration, R reset, P presentation,
// Ctrl+Z undo, Ctrl+Shift+Z redo), so the buttons stay the one place an action is defined.
//
// Why script and not an htmx trigger such as keyup[key=='ArrowRight'] from:body: a
// trigger cannot stop the browser's own action (Space would also scroll the page),
// and one guard here keeps every shortcut quiet while the user types in a field or
// works a focused control. It also lets Enter and Space work an SVG edge, which is a
// role="button" but not a <button>.
"use strict";

document.addEventListener("keydown", (event) => {
  if (event.altKey || event.isComposing) return;
  const target = event.target instanceof Element ? event.target : document.body;
  if (target.closest("input, textarea, select, [contenteditable]")) return;
  const chord = event.ctrlKey || event.metaKey;
  const mods = (event.ctrlKey ? "Control+" : "") + (event.metaKey ? "Meta+" : "") +
    (chord && event.shiftKey ? "Shift+" : "");
  const name = event.key === " " ? "Space" : event.key.length === 1 ? event.key.toUpperCase() : event.key;
  const key = mods + name;
  if (key === "Space" || key === "Enter") {
    const control = target.closest("button, a[href], summary");
    if (control) return; // the focused control's own Enter/Space
    const role = target.closest("[role=button]");
    if (role) {
      event.preventDefault();
      role.dispatchEvent(new MouseEvent("click", { bubbles: true }));
      return;
    }
  }
  if (event.repeat) return; // a held key steps once
  const button = document.querySelector(`button[aria-keyshortcuts~="${key}"]`);
  if (!button || button.disabled || button.offsetParent === null) return;
  event.preventDefault();
  button.click();
});
