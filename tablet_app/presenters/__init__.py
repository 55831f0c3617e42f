"""Plain-Python presenters, one per screen: state, actions and view models.

No Kivy here (an import-linter contract keeps it so): each presenter is
unit-tested without a window, with the real ``permits`` rules.
"""
