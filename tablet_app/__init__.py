"""The guardian's tablet app (Kivy): screens, presenters, local store, sync client."""
