// Presenter or viewer (issue 5). The server says which on every Socket.IO
// connect (`access {presenter}`, before the snapshot); until it has, the page
// shows no control at all. A viewer sees everything live — tree, log, replies,
// details, the truth badge — and no control: every element marked
// .presenter-only is hidden by the stylesheet (body[data-access]), and a small
// badge says "viewer (read-only)".
//
// The presenter gets a "viewer link" button: the URL students open
// (GET /api/whoami's viewer_url, else this page's origin), large, with a QR
// code drawn here (static/vendor/qrcode-generator.esm.js, MIT) — big enough to
// scan from the back of a lecture hall.
//
// Testability: body[data-access=unknown|presenter|viewer]; #viewer-badge;
// [data-action=viewer-link]; #viewer-dialog svg[data-qr="<url>"].

import { qrcode } from "/static/vendor/qrcode-generator.esm.js";
import { t } from "./i18n.js";
import { setText } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const QUIET_ZONE = 4;                  // modules of white border the standard asks for

export class Access {
  constructor({ requestRender }) {
    this.requestRender = requestRender;
    this.presenter = null;
    this.whoami = null;
    this.dialog = document.querySelector("#viewer-dialog");
    document.body.dataset.access = "unknown";
  }

  bind() {
    document.querySelector("[data-action='viewer-link']").addEventListener("click", () => this.openLink());
    this.dialog.querySelector("[data-action='close-viewer-link']")
      .addEventListener("click", () => this.dialog.close());
    this.dialog.addEventListener("click", (ev) => {
      if (ev.target === this.dialog) this.dialog.close();    // a click on the backdrop
    });
    this.fetchWhoami();
  }

  /** The server's word for this connection. */
  set(presenter) {
    this.presenter = presenter;
    document.body.dataset.access = presenter ? "presenter" : "viewer";
    if (!presenter) {
      // Nothing a viewer could press stays open.
      for (const dialog of document.querySelectorAll("dialog.presenter-only[open]")) dialog.close();
    }
    this.fetchWhoami();
    this.requestRender();
  }

  async fetchWhoami() {
    try {
      const response = await fetch("/api/whoami", { cache: "no-store" });
      if (response.ok) {
        this.whoami = await response.json();
        if (this.dialog.open) this.renderLink();
      }
    } catch (error) {
      console.warn("forkscope: GET /api/whoami failed", error);
    }
  }

  viewerUrl() {
    const given = this.whoami?.viewer_url;
    try {
      return new URL(given || `${location.origin}/`, location.href).href;
    } catch {
      return `${location.origin}/`;
    }
  }

  openLink() {
    this.renderLink();
    if (!this.dialog.open) this.dialog.showModal();
    this.fetchWhoami();          // the server's word may have changed: redrawn if so
  }

  renderLink() {
    const url = this.viewerUrl();
    setText(this.dialog.querySelector("#viewer-url"), url);
    const box = this.dialog.querySelector("#viewer-qr");
    if (box.dataset.url !== url) {
      box.dataset.url = url;
      box.replaceChildren(qrSvg(url));
    }
    const host = new URL(url).hostname;
    const local = ["localhost", "127.0.0.1", "[::1]", "::1"].includes(host) || host.startsWith("127.");
    const note = this.dialog.querySelector("#viewer-note");
    note.hidden = !local;
    setText(note, local ? t("viewer.loopback_note") : "");
  }

  render() {
    setText(document.querySelector("#viewer-badge"), t("access.viewer"));
    if (this.dialog.open) this.renderLink();
  }
}

/** The QR code of *text* as an SVG: one path of dark modules, crisp at any size. */
export function qrSvg(text) {
  const qr = qrcode(0, "M");           // the smallest version that holds it; 15 % recovery
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const size = n + QUIET_ZONE * 2;
  let d = "";
  for (let row = 0; row < n; row += 1) {
    for (let col = 0; col < n; col += 1) {
      if (qr.isDark(row, col)) d += `M${col + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`;
    }
  }
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.setAttribute("class", "qr");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("viewer.qr_label", { url: text }));
  svg.dataset.qr = text;
  svg.dataset.modules = String(n);
  const bg = document.createElementNS(SVG, "rect");
  bg.setAttribute("width", String(size));
  bg.setAttribute("height", String(size));
  bg.setAttribute("fill", "#fff");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "#000");
  svg.append(bg, path);
  return svg;
}
