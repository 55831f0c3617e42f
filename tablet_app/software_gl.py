"""On a software rasterizer, wait for each frame to be drawn before drawing the next.

Mesa's llvmpipe (the GL of this machine, of emulators and of GPU-less boxes) bins a
frame into a "scene" and rasterizes it on its own threads while the app carries on;
when the app gets ahead of them it starts another scene, and every scene keeps its
memory for the next frames. The board redrawing each second that way held 30-120 MB
more than it drew (malloc'd by Mesa, never given back, more the faster the app ran:
most of ``tablet.app_rss_over_empty_window``'s spread, bench/tablet.py). Finishing each
frame before it is shown keeps one scene: ~3 MB. A GPU's driver has no such queue to
bound, and a stall a frame would cost it for nothing, so it is left alone.
"""

from __future__ import annotations

from typing import Any

# GL_RENDERER strings of software rasterizers (Mesa's, Google's SwiftShader)
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "swiftshader")
# windows already finishing their frames (an app built twice in one process binds once)
_finishing: set[int] = set()


def is_software(renderer: str) -> bool:
    name = renderer.lower()
    return any(software in name for software in SOFTWARE_RENDERERS)


def renderer() -> str:
    """The GL renderer of the current context (the window must exist)."""
    from kivy.graphics.opengl import GL_RENDERER, glGetString

    value = glGetString(GL_RENDERER)
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value or "")


def finish_each_frame(window: Any) -> bool:
    """On a software rasterizer, finish each frame before the window shows it; returns
    whether it does. Call once the window exists (``App.build``)."""
    if id(window) in _finishing:
        return True
    if not is_software(renderer()):
        return False
    from kivy.graphics.opengl import glFinish

    # bound handlers run before the window's own on_flip (the buffer swap)
    window.bind(on_flip=lambda *_args: glFinish())
    _finishing.add(id(window))
    return True
