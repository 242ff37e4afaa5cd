"""How engines outside the project type the lake's columns, declared once for the tests that
check the README's snippets and Spark's reading of the lake against warehouse/lake/tables.py.

Trino: the Hive connector's column types for our Parquet — a Hive table's timestamp column
is declared ``timestamp(3)`` (the only precision its CREATE TABLE takes) and read at the
precision ``hive.timestamp-precision`` (catalog) or ``timestamp_precision`` (session) sets;
a Hive table has no ``timestamp with time zone``. Spark: ``DataType.simpleString()`` of what
``spark.read.parquet`` infers (a UTC-adjusted Parquet timestamp is Spark's ``timestamp``,
the hive ``day=`` folder a ``date``)."""
from __future__ import annotations

import pyarrow as pa

from warehouse.lake.catalog_file import DAY_COLUMN
from warehouse.lake.tables import UTC_US, Table

TRINO_TYPES: dict[pa.DataType, str] = {
    pa.int16(): "smallint", pa.int32(): "integer", pa.int64(): "bigint", pa.float64(): "double",
    pa.bool_(): "boolean", pa.string(): "varchar", pa.binary(): "varbinary", pa.date32(): "date",
    UTC_US: "timestamp(3)",
}
SPARK_TYPES: dict[pa.DataType, str] = {
    pa.int16(): "smallint", pa.int32(): "int", pa.int64(): "bigint", pa.float64(): "double",
    pa.bool_(): "boolean", pa.string(): "string", pa.binary(): "binary", pa.date32(): "date",
    UTC_US: "timestamp",
}


def lake_columns(table: Table) -> dict[str, pa.DataType]:
    """{column: Arrow type} a reader of `table` sees: the declared schema, and for a day
    table the hive partition column."""
    columns = {f.name: f.type for f in table.schema}
    if table.by_day:
        columns[DAY_COLUMN] = pa.date32()
    return columns
