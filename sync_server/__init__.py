"""The bureau's sync server (FastAPI): enrollment, sync, tenancy, pages and exports."""
