"""Reading and writing: traces (AP logs, GPS, GeoLife), geometry and stay points, atomic outputs."""
