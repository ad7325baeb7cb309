// Which layout the page shows: body[data-view=full|present|phone], always set.
//
// - full: the projector dashboard (tree beside the side column);
// - present: the tree takes the screen, large type, the controls in one
//   compact bar below it (?view=present, the top bar's button, the "p" key);
// - phone: one column — the tree first, then details and the log (chosen by
//   width: PHONE_QUERY, followed on resize and rotation).
//
// ?view=full|present|phone overrides the automatic choice. "p" toggles
// presenter view over whatever the page would otherwise show, and keeps the
// choice in the address (?view=present) so a reload or a shared link keeps it.
//
// Testability contract: body[data-view]; [data-action=present][aria-pressed].

import { setAttr } from "./dom.js";

export const VIEWS = ["full", "present", "phone"];
// Phones upright (360–430 px) and on their side (844 × 390: a short screen
// with a coarse pointer); 760 px leaves a small tablet upright on the phone
// layout too, where two columns squeezed the tree to a sliver (issue 11).
export const PHONE_QUERY = "(max-width: 760px), (max-height: 500px) and (pointer: coarse)";

export class Views {
  constructor({ onChange = () => {} } = {}) {
    this.onChange = onChange;
    this.media = window.matchMedia(PHONE_QUERY);
    const asked = new URLSearchParams(location.search).get("view");
    // An explicit full or phone is the base the page returns to from presenter view.
    this.forced = asked === "full" || asked === "phone" ? asked : null;
    this.present = asked === "present";
    this.media.addEventListener("change", () => this.apply());
    this.apply();
  }

  get current() {
    if (this.present) return "present";
    return this.forced ?? (this.media.matches ? "phone" : "full");
  }

  togglePresent() {
    this.present = !this.present;
    const url = new URL(location.href);
    if (this.present) url.searchParams.set("view", "present");
    else if (this.forced) url.searchParams.set("view", this.forced);
    else url.searchParams.delete("view");
    history.replaceState(history.state, "", url);
    this.apply();
  }

  apply() {
    const view = this.current;
    // The first view is no change: the page is not drawn yet.
    const changed = Boolean(document.body.dataset.view) && document.body.dataset.view !== view;
    document.body.dataset.view = view;
    for (const button of document.querySelectorAll("[data-action='present']")) {
      setAttr(button, "aria-pressed", String(view === "present"));
    }
    if (changed) this.onChange(view);
  }
}
