"""A zoomable image: fitted to the view by default, 100 % on request, wheel to zoom.

A QGraphicsView over one pixmap item: fitting is `fitInView` (re-applied on resize while in fit
mode), zooming scales the view's transform around the cursor. Nothing here knows the gallery.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPainter, QPixmap, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

__all__ = ["ZoomableImage"]

MIN_ZOOM = 0.02
MAX_ZOOM = 16.0
WHEEL_STEP = 1.25


class ZoomableImage(QGraphicsView):
    """Shows one pixmap; `fit()`, `actual_size()`, wheel zoom. `zoomChanged(percent)` reports."""

    zoomChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Image")
        self._scene = QGraphicsScene(self)
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._scene.addItem(self._item)
        self.setScene(self._scene)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self._fit_mode = True

    # -- content --

    def set_pixmap(self, pixmap: QPixmap) -> None:
        self._item.setPixmap(pixmap)
        self._scene.setSceneRect(self._item.boundingRect())
        self.fit()

    def pixmap(self) -> QPixmap:
        return self._item.pixmap()

    @property
    def fit_mode(self) -> bool:
        return self._fit_mode

    def zoom(self) -> float:
        """The current scale (1.0 = 100 %)."""
        return self.transform().m11()

    # -- zoom --

    def fit(self) -> None:
        """Fit the whole image in the view (never enlarged beyond 100 %)."""
        self._fit_mode = True
        self._apply_fit()

    def actual_size(self) -> None:
        """Show the image at 100 % (one image pixel per device-independent pixel)."""
        self._fit_mode = False
        self.resetTransform()
        self.zoomChanged.emit(100)

    def zoom_by(self, factor: float) -> None:
        current = self.zoom()
        target = min(MAX_ZOOM, max(MIN_ZOOM, current * factor))
        if target == current:
            return
        self._fit_mode = False
        self.scale(target / current, target / current)
        self.zoomChanged.emit(round(self.zoom() * 100))

    def _apply_fit(self) -> None:
        if self._item.pixmap().isNull():
            return
        rect = self._item.boundingRect()
        view = self.viewport().rect()
        if rect.width() <= 0 or rect.height() <= 0 or view.width() <= 0 or view.height() <= 0:
            return
        scale = min(view.width() / rect.width(), view.height() / rect.height(), 1.0)
        self.resetTransform()
        self.scale(scale, scale)
        self.centerOn(self._item)
        self.zoomChanged.emit(round(scale * 100))

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y()
        if delta == 0:
            super().wheelEvent(event)
            return
        self.zoom_by(WHEEL_STEP if delta > 0 else 1 / WHEEL_STEP)
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fit_mode:
            self._apply_fit()
