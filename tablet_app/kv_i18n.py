"""The ``.kv`` side of translation: ``tr._("msgid")`` re-renders on a language switch.

The kv compiler binds every expression to the attributes it reads; ``tr`` is an
``Observable`` that records the bindings made on its ``_`` attribute and fires
them all when the language changes (the pattern of Kivy's i18n example), so a
switch re-translates every kv-bound text without rebuilding screens.
"""

from __future__ import annotations

from typing import Any

from kivy.event import Observable

from tablet_app.i18n import get_language, gettext, set_language


class Translator(Observable):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self._observers: list[tuple[Any, Any, Any]] = []

    def _(self, message: str) -> str:
        return gettext(message)

    @property
    def language(self) -> str:
        return get_language()

    def fbind(self, name: str, func: Any, *largs: Any, **kwargs: Any) -> Any:
        if name == "_":
            self._observers.append((func, largs, kwargs))
            return 0
        return super().fbind(name, func, *largs, **kwargs)

    def funbind(self, name: str, func: Any, *largs: Any, **kwargs: Any) -> Any:
        if name == "_":
            key = (func, largs, kwargs)
            if key in self._observers:
                self._observers.remove(key)
            return None
        return super().funbind(name, func, *largs, **kwargs)

    def switch(self, language: str) -> None:
        set_language(language)
        # The kv compiler binds with fbind(key, call_fn, args); call_fn(args, instance, value).
        for func, largs, _kwargs in list(self._observers):
            try:
                func(*largs, None, None)
            except ReferenceError:
                # the widget that made this binding is gone
                self._observers.remove((func, largs, _kwargs))


tr = Translator()
