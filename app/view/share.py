"""How others join a network: its follow link as a QR code, drawn here as SVG."""

from functools import lru_cache

import segno
from markupsafe import Markup


@lru_cache(maxsize=1024)
def qr(url: str, title: str) -> Markup:
    """The link as a QR code, an inline <svg> (black on white, as phone cameras expect)."""
    code = segno.make(url, error="m")
    svg = code.svg_inline(scale=5, border=2, dark="#000", light="#fff", title=title)
    return Markup(svg.replace("<svg ", '<svg role="img" class="qr" ', 1))
