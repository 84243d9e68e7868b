"""AutoDL for QGIS. QGIS calls classFactory; nothing heavy is imported here (qgis_process passes iface=None)."""


def classFactory(iface):  # noqa: N802 - the name QGIS looks for
    from .plugin import AutodlPlugin

    return AutodlPlugin(iface)
