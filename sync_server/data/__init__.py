"""Numbers the server applies, each with its reason (sign-on codes: signon_codes.toml)."""
