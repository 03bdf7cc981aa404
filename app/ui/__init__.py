"""The PySide6 user interface: thin windows, tabs, dialogs and widgets over app.core."""
