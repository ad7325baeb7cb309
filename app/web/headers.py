"""Security headers on every response: pages, static files, the API, errors.

The presenter's first URL carries the token (``/?token=...``, taken into the
session and redirected away at once). Around that:

* ``Content-Security-Policy``: scripts, styles, fetches and the Socket.IO
  websocket from this origin only (``'self'`` covers ``ws:`` to the same host
  and port), no inline ``<script>`` and no ``on...=`` attributes, so markup that
  slipped into the page cannot run; images from here or ``data:`` (the
  favicon is ``data:,``); no plugins; never inside another site's frame (the
  page could be overlaid to steer the presenter's clicks); forms post here only.
  d3 and the tree set styles through the CSSOM (``el.style.x = ...``), which
  ``style-src 'self'`` allows; only ``style="..."`` markup would be refused.
* ``X-Content-Type-Options: nosniff``: a response is only ever what its
  ``Content-Type`` says (a JSON answer echoing text is never run as script).
* ``Referrer-Policy: no-referrer``: no URL of the dashboard leaves in a
  ``Referer`` header.
"""

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
       "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def install(app):
    @app.after_request
    def secure(response):
        # after_request sees every response Flask makes: views, static files,
        # error handlers, and answers from before_request (the Host check)
        response.headers.update(HEADERS)
        return response
