"""The screens of the app, in the order a permit goes through them."""

from __future__ import annotations

from tablet_app.screens.settings import SettingsScreen

SCREENS = (("settings", SettingsScreen),)
FIRST_SCREEN = "settings"
