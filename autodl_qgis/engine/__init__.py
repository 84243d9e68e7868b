"""The AutoDL engine: plain Python (no QGIS), usable by data scientists directly."""
