"""Helpers several test packages share (imported by tests, never by product code)."""
