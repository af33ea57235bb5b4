"""Builders for the bundled instance catalogs (`instances_aws/gcp/azure.csv`).

Each provider module turns either the provider's own API answer or the bundled public
tables into `CatalogRow`s; `table` validates, renders and writes them with the manifest entry.
"""
