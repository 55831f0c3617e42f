"""Plays the alarm bell's pattern through Kivy's audio (SDL2 mixer), and on Android
vibrates and keeps the screen on. The decisions are ``presenters.alarm``'s; this
module only plays them.

Nothing here listens to the app being paused: a tablet put in the background (or its
screen locked) keeps sounding until the guardian acknowledges on the board
(docs/tablet.md, The audible alarm).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from kivy.logger import Logger
from kivy.utils import platform

from tablet_app.presenters.alarm import Pattern

SOUNDS = Path(__file__).resolve().parent / "sounds"
# Vibration per pattern, in seconds of each one-second loop (plyer on Android).
VIBRATE_S = {Pattern.EVACUATE: 0.8, Pattern.STALE: 0.4, Pattern.WARNING: 0.2}


class AlarmPlayer:
    def __init__(self) -> None:
        self.playing = Pattern.NONE
        self._sounds: dict[Pattern, Any] = {}
        self.played: list[Pattern] = []  # every pattern started, for the walkthrough's notes

    def _sound(self, pattern: Pattern) -> Any:
        if pattern not in self._sounds:
            # imported at the first alarm: SDL's mixer (and the sound card's libraries)
            # costs memory a quiet shift does not need
            from kivy.core.audio import SoundLoader

            sound = SoundLoader.load(str(SOUNDS / f"{pattern.value}.wav"))
            if sound is None:
                Logger.error("cspermit: no audio for the %s alarm", pattern.value)
            else:
                sound.loop = True
                sound.volume = 1.0
            self._sounds[pattern] = sound
        return self._sounds[pattern]

    def play(self, pattern: Pattern) -> None:
        """Sound ``pattern`` (looping) from now on; ``NONE`` stops."""
        if pattern is self.playing:
            if pattern is not Pattern.NONE:
                _vibrate(VIBRATE_S[pattern])
            return
        current = self._sounds.get(self.playing)
        if current is not None:
            current.stop()
        self.playing = pattern
        if pattern is Pattern.NONE:
            return
        sound = self._sound(pattern)
        if sound is not None:
            sound.play()
        self.played.append(pattern)
        _vibrate(VIBRATE_S[pattern])

    def stop(self) -> None:
        self.play(Pattern.NONE)


def _vibrate(seconds: float) -> None:
    if platform != "android":
        return
    with contextlib.suppress(Exception):  # a tablet without a vibrator still sounds
        from plyer import vibrator

        vibrator.vibrate(seconds)


def keep_screen_on(on: bool) -> None:
    """Android: hold FLAG_KEEP_SCREEN_ON while a permit is open (pyjnius, on the UI
    thread). Elsewhere nothing: a desktop does not sleep its window."""
    if platform != "android":
        return
    with contextlib.suppress(Exception):
        from android.runnable import run_on_ui_thread  # type: ignore[import-not-found]
        from jnius import autoclass  # type: ignore[import-not-found]

        activity = autoclass("org.kivy.android.PythonActivity").mActivity
        flag = autoclass("android.view.WindowManager$LayoutParams").FLAG_KEEP_SCREEN_ON

        @run_on_ui_thread  # type: ignore[misc]
        def apply() -> None:
            window = activity.getWindow()
            if on:
                window.addFlags(flag)
            else:
                window.clearFlags(flag)

        apply()
