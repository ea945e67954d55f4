"""File formats and protocols at the edge, parsed and validated once into domain records."""
