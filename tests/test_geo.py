"""The raster grid (engine/geo.py) on GeoTIFFs GDAL writes: pixel <-> map, bounds, windows, extents, and the one
north-up check every raster passes where it is opened (export, inference, accuracy)."""
import numpy as np
import pytest
from osgeo import gdal, osr

from autodl_qgis.engine.accuracy import compute_pixel_accuracy
from autodl_qgis.engine.data.export import export_training_data
from autodl_qgis.engine.errors import InputDataError
from autodl_qgis.engine.geo import Grid
from autodl_qgis.engine.infer.raster import open_raster, region_window

X0, Y0, PIXEL = 500000.0, 4100000.0, 0.5
NORTH_UP = (X0, PIXEL, 0.0, Y0, 0.0, -PIXEL)


def _geotiff(path, transform=NORTH_UP, width=8, height=6):
    ds = gdal.GetDriverByName("GTiff").Create(str(path), width, height, 1, gdal.GDT_Byte)
    if transform is not None:
        ds.SetGeoTransform(transform)
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(32633)
        ds.SetProjection(srs.ExportToWkt())
    ds.GetRasterBand(1).WriteArray(np.arange(width * height, dtype=np.uint8).reshape(height, width) % 3 + 1)
    ds = None
    return gdal.Open(str(path))


def test_grid_maps_pixels_and_windows_as_gdal_wrote_them(tmp_path):
    grid = Grid.of(_geotiff(tmp_path / "a.tif"), tmp_path / "a.tif")
    assert (grid.transform, grid.width, grid.height) == (NORTH_UP, 8, 6) and "32633" in grid.crs_wkt
    assert grid.to_map(2, 3) == (X0 + 1.0, Y0 - 1.5)
    assert grid.to_pixel(X0 + 1.0, Y0 - 1.5) == pytest.approx((2, 3), abs=1e-9)
    assert grid.bounds() == (X0, Y0 - 3.0, X0 + 4.0, Y0)
    assert grid.pixel_area == 0.25 and grid.pixel_size == (PIXEL, PIXEL) and grid.georeferenced
    assert grid.world_file() == (PIXEL, 0.0, 0.0, -PIXEL, X0 + 0.25, Y0 - 0.25)  # pixel-centre origin
    window = grid.window(2, 4, 3, 2)
    assert window.transform == (X0 + 1.0, PIXEL, 0.0, Y0 - 2.0, 0.0, -PIXEL) and window.crs_wkt == grid.crs_wkt
    assert window.bounds() == (X0 + 1.0, Y0 - 3.0, X0 + 2.5, Y0 - 2.0)
    centres = grid.points_to_map(np.array([[0.5, 0.5], [7.5, 5.5]]))
    np.testing.assert_array_equal(centres, [[X0 + 0.25, Y0 - 0.25], [X0 + 3.75, Y0 - 2.75]])
    np.testing.assert_allclose(grid.points_to_pixel(centres), [[0.5, 0.5], [7.5, 5.5]], atol=1e-9)


def test_extents_on_pixel_edges_take_exactly_their_pixels(tmp_path):
    grid = Grid.of(_geotiff(tmp_path / "a.tif"), tmp_path / "a.tif")
    # pixel edges 1..4 (columns) and 2..5 (rows): the inverse transform's rounding must not add a column or row
    assert grid.pixel_span((X0 + 0.5, Y0 - 2.5, X0 + 2.0, Y0 - 1.0)) == (1, 2, 4, 5)
    assert grid.pixel_span((X0 + 0.6, Y0 - 2.4, X0 + 1.9, Y0 - 1.1)) == (1, 2, 4, 5)  # partly covered: taken
    assert grid.pixel_span((X0 - 100, Y0 - 100, X0 + 100, Y0 + 100)) == (0, 0, 8, 6)  # cut to the grid
    window = region_window(grid, (X0 + 0.5, Y0 - 2.5, X0 + 2.0, Y0 - 1.0))
    assert (window.x, window.y, window.width, window.height) == (1, 2, 3, 3)
    with pytest.raises(InputDataError, match="does not overlap the raster"):
        region_window(grid, (X0 + 10, Y0 + 10, X0 + 20, Y0 + 20))


def test_a_raster_without_georeferencing_is_in_pixels_or_refused(tmp_path):
    ds = _geotiff(tmp_path / "plain.tif", transform=None)
    plain = Grid.of(ds, georeferenced=False)
    assert plain.transform == (0.0, 1.0, 0.0, 0.0, 0.0, 1.0) and not plain.georeferenced
    with pytest.raises(InputDataError, match="has no georeferencing. Georeference the raster first"):
        Grid.of(ds, tmp_path / "plain.tif")


def test_a_rotated_raster_is_refused_where_it_is_opened(tmp_path):
    rotated = tmp_path / "rotated.tif"
    ds = _geotiff(rotated, transform=(X0, PIXEL, 0.1, Y0, 0.1, -PIXEL))
    assert ds.GetGeoTransform()[2] == 0.1  # GDAL kept the rotation
    expected = f"{rotated}: is rotated. Warp it north-up first (gdalwarp)"
    for open_it in (lambda: Grid.of(ds, rotated),
                    lambda: open_raster(rotated, [0]),
                    lambda: export_training_data(rotated, tmp_path / "chips", rotated, chip_size=4),
                    lambda: compute_pixel_accuracy(rotated, _geotiff(tmp_path / "truth.tif").GetDescription())):
        with pytest.raises(InputDataError) as raised:
            open_it()
        assert str(raised.value) == expected
    assert not (tmp_path / "chips").exists()
