"""Storage-facing operations. Handlers stay thin; domain rules live in ``permits``."""
