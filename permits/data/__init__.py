"""Rule data (gases, atmosphere profiles) as TOML files with their sources."""
