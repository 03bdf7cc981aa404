"""Help -> About: the version, the Qt and Python versions, the data folder (with a button that
opens it), the log file, and the licences of the bundled libraries.

Non-modal (`open()`, never `exec()`): it is opened from the qasync loop. The licences come from
`app.bundle_info.bundled_licences()`: the list written at build time in the bundle, the
installed packages' metadata in a development install (read when the dialog opens).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.bundle_info import Licence, bundled_licences, is_frozen, python_version
from app.resources import ResourcesMissing, icon_path


class AboutDialog(QDialog):
    def __init__(self, data_dir: Path, log_path: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Switchboard")
        self.setAccessibleName("About Switchboard")
        self.data_dir = data_dir
        self.log_path = log_path
        try:
            self.setWindowIcon(QIcon(str(icon_path())))
        except ResourcesMissing:
            pass
        build = "bundle" if is_frozen() else "development install"
        self.heading = QLabel(f"<b>Switchboard {__version__}</b>")
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.details = QLabel(
            "A desktop chat and media studio for OpenAI-compatible and Gemini endpoints.\n\n"
            f"Qt {qVersion()} (PySide6 {pyside_version}), Python {python_version()} "
            f"on {sys.platform}, {build}\n"
            f"Data folder: {data_dir}\n"
            f"Log file: {log_path or data_dir / 'logs' / 'switchboard.log'}"
        )
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.licences, self.licence_source = bundled_licences()
        self.licence_label = QLabel(
            f"Bundled libraries and their licences ({self.licence_source}):"
        )
        self.table = _licence_table(self.licences)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_folder = QPushButton("Open data folder")
        self.open_folder.setToolTip(str(data_dir))
        self.open_folder.clicked.connect(self.open_data_dir)
        buttons.addButton(self.open_folder, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        for widget in (self.heading, self.details, self.licence_label, self.table):
            layout.addWidget(widget)
        layout.addWidget(buttons)
        self.resize(640, 520)

    def summary_text(self) -> str:
        """The heading and the details as plain text (what the dialog says, minus the table)."""
        return f"Switchboard {__version__}\n{self.details.text()}"

    def open_data_dir(self) -> bool:
        """Show the data folder in the system's file manager."""
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.data_dir)))


def _licence_table(licences: list[Licence]) -> QTableWidget:
    table = QTableWidget(len(licences), 3)
    table.setHorizontalHeaderLabels(["Library", "Version", "Licence"])
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    for row, lic in enumerate(licences):
        for col, value in enumerate((lic.name, lic.version, lic.licence)):
            item = QTableWidgetItem(value)
            if col == 0 and lic.url:
                item.setToolTip(lic.url)
            table.setItem(row, col, item)
    table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
    table.resizeColumnsToContents()
    return table
