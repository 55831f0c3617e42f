"""Kivy screens: one ``.kv`` file per screen plus a thin Screen class.

Each Screen class only forwards touches to its presenter and shows the
presenter's view model; the logic lives in :mod:`tablet_app.presenters`.
"""
