"""The screens of the app, in the order a permit goes through them."""

from __future__ import annotations

from tablet_app.screens.atmosphere import AtmosphereScreen
from tablet_app.screens.board import BoardScreen
from tablet_app.screens.closeout import CloseoutScreen
from tablet_app.screens.first_signon import FirstSignOnScreen
from tablet_app.screens.hazard import HazardScreen
from tablet_app.screens.home import HomeScreen
from tablet_app.screens.hot_work import HotWorkScreen
from tablet_app.screens.hot_work_draft import HotWorkDraftScreen
from tablet_app.screens.settings import SettingsScreen
from tablet_app.screens.setup import SetupScreen
from tablet_app.screens.signin import SignInScreen

SCREENS = (
    ("signin", SignInScreen),
    ("home", HomeScreen),
    ("setup", SetupScreen),
    ("atmosphere", AtmosphereScreen),
    ("board", BoardScreen),
    ("closeout", CloseoutScreen),
    ("hazard", HazardScreen),
    ("settings", SettingsScreen),
    ("hot_work_draft", HotWorkDraftScreen),
    ("hot_work", HotWorkScreen),
    ("first_signon", FirstSignOnScreen),
)
FIRST_SCREEN = "signin"
