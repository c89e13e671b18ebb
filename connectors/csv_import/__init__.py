"""csv_import: reads admin-console exports and hand-made CSVs; see docs/connectors/csv_import.md."""

from connectors.csv_import.connector import CsvImportConnector

__all__ = ["CsvImportConnector"]
