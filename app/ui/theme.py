"""Look and feel: Fusion style with a tuned light and dark palette that follows the system.

`ThemeManager` applies the palette for the chosen mode ("system", "light" or "dark"); in
"system" mode it re-applies whenever the desktop switches between light and dark
(`QStyleHints.colorSchemeChanged`).
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import QObject
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

# Passed to QApplication as `-style Fusion` by app.main: Qt then makes the style in C++ and
# PySide6 does not build the Python types of QStyle's large enums before the first paint.
STYLE_ARGS = ["-style", "Fusion"]

ThemeMode = Literal["system", "light", "dark"]

# Semantic colours used by widgets that need more than the palette (badges, banners).
LIGHT_ACCENTS = {
    "demo_bg": "#fff1c2",
    "demo_fg": "#5c4300",
    "warn_bg": "#fde8e4",
    "warn_fg": "#7a1f12",
    "info_bg": "#e6f0fb",
    "info_fg": "#0f3a66",
    "muted": "#5b6270",
    "ok": "#1d6b34",
    "ok_bg": "#e1f3e6",
    "error": "#a3261a",
}
DARK_ACCENTS = {
    "demo_bg": "#4a3b10",
    "demo_fg": "#ffe08a",
    "warn_bg": "#4d211b",
    "warn_fg": "#ffc2b8",
    "info_bg": "#1b3150",
    "info_fg": "#cfe3ff",
    "muted": "#a4abb8",
    "ok": "#7fd69a",
    "ok_bg": "#1c3a26",
    "error": "#ff9a8c",
}


def _palette(dark: bool) -> QPalette:
    pal = QPalette()
    if dark:
        window, base, alt, text = "#1f2126", "#17181c", "#25282e", "#e6e8ec"
        button, highlight, link = "#2c2f36", "#3d7bd9", "#7cb4ff"
        disabled_text, mid, shadow = "#7a808c", "#3a3e46", "#0c0d0f"
        tooltip_bg, tooltip_fg = "#2c2f36", "#e6e8ec"
        placeholder = "#8a909c"
    else:
        window, base, alt, text = "#f3f4f6", "#ffffff", "#f7f8fa", "#1b1d22"
        button, highlight, link = "#e9ebef", "#2f6fd0", "#1a5bb8"
        disabled_text, mid, shadow = "#8b919c", "#c5c9d1", "#8c9099"
        tooltip_bg, tooltip_fg = "#ffffff", "#1b1d22"
        placeholder = "#7b818c"
    c = QColor
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: alt,
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: button,
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: highlight,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: link,
        QPalette.ColorRole.LinkVisited: link,
        QPalette.ColorRole.ToolTipBase: tooltip_bg,
        QPalette.ColorRole.ToolTipText: tooltip_fg,
        QPalette.ColorRole.PlaceholderText: placeholder,
        QPalette.ColorRole.Mid: mid,
        QPalette.ColorRole.Shadow: shadow,
        QPalette.ColorRole.Light: "#ffffff" if not dark else "#3a3e46",
        QPalette.ColorRole.Midlight: "#dfe2e7" if not dark else "#30333a",
        QPalette.ColorRole.Dark: "#a9aeb8" if not dark else "#101114",
    }
    for role, colour in roles.items():
        pal.setColor(QPalette.ColorGroup.All, role, c(colour))
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        pal.setColor(QPalette.ColorGroup.Disabled, role, c(disabled_text))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, c(mid))
    return pal


def system_is_dark() -> bool:
    """Whether the desktop asks for a dark colour scheme (unknown counts as light)."""
    # Touching any enum of PySide6's `Qt` namespace builds all of them (~100 ms), so this is
    # only asked after the first paint; before it, `palette_is_dark` guesses from the palette.
    from PySide6.QtCore import Qt

    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def palette_is_dark(palette: QPalette) -> bool:
    """A cheap guess: platform themes that follow a dark desktop hand Qt a dark palette."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def accents(dark: bool) -> dict[str, str]:
    return DARK_ACCENTS if dark else LIGHT_ACCENTS


class ThemeManager(QObject):
    """Applies Fusion + palette for a mode and follows the system in "system" mode."""

    def __init__(
        self,
        app: QApplication,
        mode: ThemeMode = "system",
        *,
        follow: bool = True,
        style_from_args: bool = False,
    ) -> None:
        """Apply the theme. With `follow=False` the system scheme is guessed from the platform
        palette (cheap, for the first paint) until `follow_system()` is called."""
        super().__init__(app)
        self._app = app
        self._mode: ThemeMode = mode
        self.dark = False
        self._following = False
        self._platform_dark = palette_is_dark(QGuiApplication.palette())
        # style_from_args: the app was started with STYLE_ARGS (even asking app.style() for its
        # name would build the Python enum types this avoids).
        if not style_from_args:
            style = QStyleFactory.create("Fusion")
            if style is not None:
                app.setStyle(style)
        font = QFont(app.font())
        if font.pointSizeF() < 10:
            font.setPointSizeF(10)
        app.setFont(font)
        self.apply()
        if follow:
            self.follow_system()

    def follow_system(self) -> None:
        """Ask the platform for its colour scheme, re-apply if the guess was wrong, and follow
        its changes from now on."""
        if self._following:
            return
        self._following = True
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_scheme_changed)
        # Re-applied only if the guess from the palette was wrong: setting the application's
        # style sheet again re-polishes every widget (~5 ms at start-up, issue 9).
        if self._mode == "system" and system_is_dark() != self.dark:
            self.apply()

    @property
    def mode(self) -> ThemeMode:
        return self._mode

    def set_mode(self, mode: ThemeMode) -> None:
        self._mode = mode
        self.apply()

    def apply(self) -> None:
        if self._mode == "system":
            self.dark = system_is_dark() if self._following else self._platform_dark
        else:
            self.dark = self._mode == "dark"
        self._app.setPalette(_palette(self.dark))
        a = accents(self.dark)
        # Small, targeted rules only; everything else comes from the palette.
        self._app.setStyleSheet(
            f"""
            QLabel[role="demoBadge"] {{
                background: {a["demo_bg"]}; color: {a["demo_fg"]};
                border-radius: 4px; padding: 1px 8px; font-weight: 600;
            }}
            QLabel[role="warning"] {{ color: {a["warn_fg"]}; }}
            QFrame[role="banner"] {{
                background: {a["warn_bg"]}; border-radius: 6px;
            }}
            QFrame[role="banner"] QLabel {{ color: {a["warn_fg"]}; }}
            QFrame[role="infoBanner"] {{
                background: {a["info_bg"]}; border-radius: 6px;
            }}
            QFrame[role="infoBanner"] QLabel {{ color: {a["info_fg"]}; }}
            QLabel[role="muted"] {{ color: {a["muted"]}; }}
            QLabel[role="ok"] {{ color: {a["ok"]}; }}
            QLabel[role="error"] {{ color: {a["error"]}; }}
            QLabel[role="heading"] {{ font-size: 18pt; font-weight: 600; }}
            QLabel[role="subheading"] {{ font-size: 12pt; font-weight: 600; }}
            """
            + self._visual_rules(a)
        )

    def _visual_rules(self, a: dict[str, str]) -> str:
        from app.ui.style import sheet

        return sheet(self.dark, a, _palette(self.dark).color(QPalette.ColorRole.Highlight).name())

    def _on_scheme_changed(self, _scheme: object) -> None:
        if self._mode == "system":
            self.apply()
