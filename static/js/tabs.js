// The side panel's tabs (details / reaped / log / code): one shown at a time,
// ←/→ move between them when a tab has the focus (WAI-ARIA tabs). Each tab is
// [role=tab][data-tab=NAME][aria-controls=its panel's id]. On a phone every
// panel is shown (CSS); the tabs still say which one is "current".

export class Tabs {
  /** *onShow(name)* is called whenever a tab is shown. */
  constructor({ onShow = () => {} } = {}) {
    this.onShow = onShow;
  }

  all() {
    return [...document.querySelectorAll("[role='tab']")];
  }

  show(name) {
    for (const tab of this.all()) {
      const on = tab.dataset.tab === name;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      document.getElementById(tab.getAttribute("aria-controls")).hidden = !on;
    }
    this.onShow(name);
  }

  get current() {
    return document.querySelector("[role='tab'][aria-selected='true']")?.dataset.tab ?? null;
  }

  bind() {
    for (const tab of this.all()) {
      tab.addEventListener("click", () => this.show(tab.dataset.tab));
      tab.addEventListener("keydown", (ev) => {
        const tabs = this.all();
        const i = tabs.indexOf(tab);
        const next = ev.key === "ArrowRight" ? tabs[(i + 1) % tabs.length]
          : ev.key === "ArrowLeft" ? tabs[(i + tabs.length - 1) % tabs.length] : null;
        if (next) {
          ev.preventDefault();     // the arrow was the tabs': the tree's arrow keys leave it be
          this.show(next.dataset.tab);
          next.focus();
        }
      });
    }
  }
}
