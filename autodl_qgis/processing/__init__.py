"""The thin QGIS skin over the engine: the provider and one module per algorithm."""
