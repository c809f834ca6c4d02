"""Test pages: a photo on a page of a test site, opened in the extension's browser."""
from __future__ import annotations

from tests.images import astronaut, coffee, jpeg

ASTRONAUT = jpeg(astronaut())   # 512×512, one face
COFFEE = jpeg(coffee())         # 600×400, no face


def open_photo_page(extension, site, body: bytes = ASTRONAUT, name: str = "astronaut.jpg",
                    width: int = 384, height: int = 384, style: str = "margin: 40px"):
    """Serve `body` as /name on `site`, show it as <img id="photo"> at width×height, wait until it is decoded."""
    site.add(f"/{name}", body, "image/jpeg")
    page_url = site.add("/", f'<h1>A photo</h1><p>Some text.</p>'
                             f'<img id="photo" src="/{name}" width="{width}" height="{height}" style="{style}">')
    page = extension.context.new_page()
    page.goto(page_url)
    page.locator("#photo").evaluate("image => image.decode()")
    return page
