"""The web layer: routes, rendering, sign-in and CSRF, access dependencies, the body
gate, the served protocol and the kept queue page. The only layer that knows HTTP."""
