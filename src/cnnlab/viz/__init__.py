"""Pictures (matplotlib, imported only when a picture is drawn)."""
